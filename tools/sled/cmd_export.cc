// sled export: the trace in other tools' formats. chrome: Chrome's
// trace-event JSON (complete "X" events per call; opens in Perfetto's UI and
// chrome://tracing); folded: one line per call path with its self time in
// ns, for flame-graph tools.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "load.h"
#include "stacks.h"

namespace sled::cli {
namespace {

struct ExportOptions {
  std::string dir = "sled.trace";
  std::string format;
  std::string output = "-";
};

void write_chrome(const TraceModel &m, std::ostream &out) {
  nlohmann::json events = nlohmann::json::array();
  uint32_t pid = m.trace().header().pid;
  for (const ThreadCalls &t : m.threads()) {
    events.push_back({{"ph", "M"},
                      {"name", "thread_name"},
                      {"pid", pid},
                      {"tid", t.tid},
                      {"args", {{"name", fmt::format("thread {}", t.tid)}}}});
    for (const Call &c : t.calls) {
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
      if (!args.empty()) e["args"] = args;
      events.push_back(std::move(e));
    }
  }
  nlohmann::json doc = {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
  out << doc.dump() << "\n";
}

void write_folded(const TraceModel &m, std::ostream &out) {
  for (const auto &[stack, v] : folded_stacks(m)) out << stack << " " << v.self_ns << "\n";
}

void run(const ExportOptions &o) {
  TraceModel m;
  if (!load_trace(o.dir, m)) return;
  std::ofstream file;
  std::ostream *out = &std::cout;
  if (o.output != "-") {
    file.open(o.output);
    if (!file) {
      fail(1, fmt::format("export: cannot write {}", o.output));
      return;
    }
    out = &file;
  }
  if (o.format == "chrome")
    write_chrome(m, *out);
  else
    write_folded(m, *out);
  if (!*out) fail(1, fmt::format("export: write error on {}", o.output));
}

}  // namespace

void add_export(CLI::App &app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App *cmd = app.add_subcommand("export", "Convert the trace: chrome (JSON) or folded stacks");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("--format", o->format, "chrome | folded")
      ->required()
      ->check(CLI::IsMember({"chrome", "folded"}));
  cmd->add_option("-o,--output", o->output, "Output file ('-': stdout)")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
