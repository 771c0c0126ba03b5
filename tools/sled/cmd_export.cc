// sled export: the trace in other tools' formats. chrome: Chrome's
// trace-event JSON (complete "X" events per call; opens in Perfetto's UI and
// chrome://tracing; export_chrome.h, streamed); perfetto: Perfetto's
// protobuf trace (export_perfetto.h); folded: one line per call path with
// its self time in ns, for flame-graph tools. Every process of the trace
// directory (record --follow), or --pid's.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "export_chrome.h"
#include "export_perfetto.h"
#include "load.h"
#include "stacks.h"

namespace sled::cli {
namespace {

struct ExportOptions {
  std::string dir = "sled.trace";
  std::string format;
  std::string output = "-";
  uint32_t pid = 0;
};

// Each process's folded stacks; with several, under a root frame naming it.
void write_folded(const TraceModel &m, bool several, std::ostream &out) {
  std::string root = several ? fmt::format("{} [{}];", program_name(m.trace().header().program),
                                           m.trace().header().pid)
                             : "";
  for (const auto &[stack, v] : folded_stacks(m)) out << root << stack << " " << v.self_ns << "\n";
}

void run(const ExportOptions &o) {
  std::vector<ProcessTrace> procs;
  if (!select_processes(o.dir, o.pid, &procs)) return;
  std::ofstream file;
  std::ostream *out = &std::cout;
  if (o.output != "-") {
    file.open(o.output, std::ios::binary);
    if (!file) {
      fail(1, fmt::format("export: cannot write {}", o.output));
      return;
    }
    out = &file;
  }
  // A failed export leaves no half-written file behind.
  auto failed = [&](const std::string &message) {  // "": already said (load_trace)
    if (!message.empty()) fail(1, message);
    if (o.output != "-") {
      file.close();
      std::remove(o.output.c_str());
    }
  };
  if (o.format == "perfetto") {
    Progress progress("sled: export", 0);
    std::string err = write_perfetto(procs, *out, progress);
    progress.finish();
    if (!err.empty()) return failed(err);
  } else if (o.format == "chrome") {
    if (std::string err = write_chrome(procs, *out); !err.empty()) return failed(err);
  } else {
    for (const ProcessTrace &p : procs) {
      TraceModel m;
      if (!load_trace(p.dir, m)) return failed(std::string());
      write_folded(m, procs.size() > 1, *out);
    }
  }
  out->flush();
  if (!*out) failed(fmt::format("export: write error on {}", o.output));
}

}  // namespace

void add_export(CLI::App &app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App *cmd = app.add_subcommand(
      "export", "Convert the trace: chrome (JSON), perfetto (protobuf) or folded stacks");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("--format", o->format, "chrome | perfetto | folded")
      ->required()
      ->check(CLI::IsMember({"chrome", "perfetto", "folded"}));
  cmd->add_option("-o,--output", o->output, "Output file ('-': stdout)")->capture_default_str();
  cmd->add_option("--pid", o->pid, "Only this process of a multi-process trace (record --follow)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
