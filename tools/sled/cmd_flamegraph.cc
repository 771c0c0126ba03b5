// sled flamegraph -o FILE.html|FILE.svg: the self-contained flame graph of
// the trace (self time per call path).
#include <fmt/format.h>

#include <fstream>

#include "commands.h"
#include "flamegraph_page.h"
#include "load.h"

namespace sled::cli {
namespace {

struct FlameOptions {
  std::string dir = "sled.trace";
  std::string output;
  uint32_t pid = 0;
};

void run(const FlameOptions &o) {
  bool html = o.output.size() > 5 && o.output.compare(o.output.size() - 5, 5, ".html") == 0;
  bool svg = o.output.size() > 4 && o.output.compare(o.output.size() - 4, 4, ".svg") == 0;
  if (!html && !svg) {
    fail(2, fmt::format("flamegraph: -o {}: the file name must end in .html or .svg", o.output));
    return;
  }
  // Several processes: each under a root frame "PROGRAM [PID]".
  std::map<std::string, StackValue> stacks;
  std::string title;
  bool ok = for_each_process(o.dir, o.pid, [&](TraceModel &m, bool several) {
    const reader::Header &h = m.trace().header();
    if (title.empty()) title = "sled flame graph: " + h.program;
    std::string root = several ? fmt::format("{} [{}];", program_name(h.program), h.pid) : "";
    for (auto &[stack, v] : folded_stacks(m)) {
      StackValue &sum = stacks[root + stack];
      sum.calls += v.calls;
      sum.self_ns += v.self_ns;
    }
  });
  if (!ok) return;
  std::string doc = flamegraph(stacks, title, html);
  std::ofstream out(o.output);
  out << doc;
  if (!out) fail(1, fmt::format("flamegraph: cannot write {}", o.output));
}

}  // namespace

void add_flamegraph(CLI::App &app) {
  auto o = std::make_shared<FlameOptions>();
  CLI::App *cmd =
      app.add_subcommand("flamegraph", "Write an interactive flame graph (HTML or SVG)");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "FILE.html or FILE.svg")->required();
  cmd->add_option("--pid", o->pid, "Only this process of a multi-process trace (record --follow)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
