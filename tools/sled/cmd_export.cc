// sled export: the trace in other tools' formats. chrome: Chrome's
// trace-event JSON (complete "X" events per call; opens in Perfetto's UI and
// chrome://tracing), streamed: each event is serialised and written as it is
// made, only one process's call trees in memory; perfetto: Perfetto's
// protobuf trace (export_perfetto.h); folded: one line per call path with
// its self time in ns, for flame-graph tools. Every process of the trace
// directory (record --follow), or --pid's.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
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

// The document {"displayTimeUnit":"ns","traceEvents":[...]} written one
// event at a time: the bytes nlohmann-json gives the whole document (keys
// sorted, compact), without holding it. Names are whatever bytes the
// symbol table holds: strings are escaped by nlohmann-json, and bytes that
// are not UTF-8 become U+FFFD, so the output is always valid JSON.
class ChromeWriter {
 public:
  explicit ChromeWriter(std::ostream &out) : out_(out) {
    out_ << R"({"displayTimeUnit":"ns","traceEvents":[)";
  }
  void event(const nlohmann::json &e) {
    if (events_++) out_ << ',';
    out_ << e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  void finish() { out_ << "]}\n"; }

 private:
  std::ostream &out_;
  uint64_t events_ = 0;
};

// One process's threads: a thread_name event, then a complete event per
// call in entry order. False when the output failed (no point going on).
bool write_chrome(const TraceModel &m, ChromeWriter &w, std::ostream &out, Progress &progress) {
  uint32_t pid = m.trace().header().pid;
  for (const ThreadCalls &t : m.threads()) {
    w.event({{"ph", "M"},
             {"name", "thread_name"},
             {"pid", pid},
             {"tid", t.tid},
             {"args", {{"name", fmt::format("thread {}", t.tid)}}}});
    for (const Call &c : t.calls) {
      progress.add();
      uint64_t end = c.end_ns ? c.end_ns : m.end_ns();
      nlohmann::json e = {{"ph", "X"},
                          {"name", m.name(c.ip)},
                          {"cat", "function"},
                          {"pid", pid},
                          {"tid", t.tid},
                          {"ts", (c.start_ns - m.start_ns()) / 1e3},
                          {"dur", (end - c.start_ns) / 1e3}};
      nlohmann::json args = nlohmann::json::object();
      for (size_t i = 0; i < c.args.size(); i++) args[fmt::format("arg{}", i)] = c.args[i];
      if (c.has_retval) args["retval"] = c.retval;
      if (c.unwound) args["unwound"] = true;
      if (!args.empty()) e["args"] = std::move(args);
      w.event(e);
      if (!out) return false;
    }
  }
  return true;
}

size_t call_count(const TraceModel &m) {
  size_t n = 0;
  for (const ThreadCalls &t : m.threads()) n += t.calls.size();
  return n;
}

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
    // Nothing is written before the first process has loaded: a trace
    // that cannot be read leaves no output at all.
    std::optional<ChromeWriter> w;
    for (const ProcessTrace &p : procs) {
      TraceModel m;
      if (!load_trace(p.dir, m)) return failed(std::string());
      if (!w) w.emplace(*out);
      Progress progress("sled: export", call_count(m), "calls");
      if (!write_chrome(m, *w, *out, progress)) break;
    }
    if (!w) w.emplace(*out);
    w->finish();
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
