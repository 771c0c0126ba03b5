// sled graph: the function_graph text, per thread, like ftrace's and
// uftrace's: a duration per call, nested calls indented; FUNCTION limits
// it to the calls of that function and everything below them.
#include <fmt/format.h>

#include "call_text.h"
#include "commands.h"
#include "load.h"
#include "output.h"

namespace sled::cli {
namespace {

struct GraphOptions {
  std::string dir = "sled.trace";
  std::string function;
  uint64_t min_duration_ns = 0;
  uint32_t pid = 0;
  bool srcline = false;
};

bool is_call_line(const Line &l) {
  return l.kind == reader::EventKind::entry || l.kind == reader::EventKind::exit;
}

void graph(const TraceModel &m, const GraphOptions &o, bool several) {
  for (const ThreadCalls &t : m.threads()) {
    std::vector<std::string> out;
    long root_depth = o.function.empty() ? 0 : -1;  // FUNCTION's call, -1 outside one
    long hidden = -1;                               // depth of a call --min-duration hides
    const std::vector<Line> &lines = t.lines;
    for (size_t k = 0; k < lines.size(); k++) {
      const Line &l = lines[k];
      if (!is_call_line(l)) continue;
      const Call &c = t.calls[l.call];
      bool entry = l.kind == reader::EventKind::entry;
      long depth = c.depth;
      if (root_depth < 0) {
        if (!entry || m.name(c.ip) != o.function) continue;
        root_depth = depth;
      }
      if (depth < root_depth) continue;
      if (hidden >= 0 && depth > hidden) continue;
      if (hidden == depth && !entry) {
        hidden = -1;
        continue;
      }
      if (entry && c.end_ns && c.duration() < o.min_duration_ns) {
        hidden = depth;
        continue;
      }
      // A call whose exit is the next line prints on one line, like ftrace.
      bool leaf_entry = entry && k + 1 < lines.size() && lines[k + 1].call == l.call &&
                        lines[k + 1].kind == reader::EventKind::exit;
      bool leaf_exit = !entry && k > 0 && lines[k - 1].call == l.call &&
                       lines[k - 1].kind == reader::EventKind::entry;
      std::string indent(2 * static_cast<size_t>(depth - (o.function.empty() ? 0 : root_depth)),
                         ' ');
      std::string ret = retval_text(m, c);
      std::string src = o.srcline && entry ? m.source(c.ip) : "";
      if (!src.empty()) src = " /* " + src + " */";
      if (leaf_entry)
        out.push_back(fmt::format("{} | {}{}{};{}{}{}", duration(c.duration()), indent,
                                  paint(m.name(c.ip), "36"), args_text(m, c), ret,
                                  c.unwound ? " /* unwound */" : "", src));
      else if (entry)
        out.push_back(fmt::format("{:>10} | {}{}{} {{{}", "", indent, paint(m.name(c.ip), "36"),
                                  args_text(m, c), src));
      else if (!leaf_exit)
        out.push_back(fmt::format("{} | {}}} /* {}{}{} */", duration(c.duration()), indent,
                                  m.name(c.ip), ret, c.unwound ? ", unwound" : ""));
      if (!entry && !o.function.empty() && depth == root_depth) root_depth = -1;
    }
    if (out.empty()) continue;
    std::string label = several
                            ? fmt::format("# process {} thread {}", m.trace().header().pid, t.tid)
                            : fmt::format("# thread {}", t.tid);
    std::printf("%s\n", paint(label, "1").c_str());
    std::printf("#   DURATION | FUNCTION\n");
    for (const std::string &line : out) std::printf("%s\n", line.c_str());
    std::printf("\n");
  }
}

void run(const GraphOptions &o) {
  for_each_process(o.dir, o.pid, [&](TraceModel &m, bool several) { graph(m, o, several); });
}

}  // namespace

void add_graph(CLI::App &app) {
  auto o = std::make_shared<GraphOptions>();
  CLI::App *cmd = app.add_subcommand("graph", "The call graph of each thread, with durations");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("function", o->function, "Show only the calls of FUNCTION and below");
  cmd->add_option("--pid", o->pid, "Only this process of a multi-process trace (record --follow)");
  cmd->add_option("--min-duration", o->min_duration_ns, "Hide calls shorter than NS nanoseconds");
  cmd->add_flag("--srcline", o->srcline, "Show each function's source file and line (debug info)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
