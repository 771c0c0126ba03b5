// sled report: the profile table (calls, total, self, average, max per
// function), sorted, optionally per thread.
#include <fmt/format.h>

#include <algorithm>

#include "commands.h"
#include "load.h"
#include "output.h"

namespace sled::cli {
namespace {

struct ReportOptions {
  std::string dir = "sled.trace";
  std::string sort = "total";
  size_t limit = 0;
  bool threads = false;
  uint32_t pid = 0;
  bool srcline = false;
};

uint64_t key(const ProfileRow &r, const std::string &sort) {
  if (sort == "calls") return r.calls;
  if (sort == "self") return r.self_ns;
  if (sort == "avg") return r.calls ? r.total_ns / r.calls : 0;
  if (sort == "max") return r.max_ns;
  return r.total_ns;
}

void report(const TraceModel &m, const ReportOptions &o) {
  std::vector<ProfileRow> rows = profile_of(m, o.threads);
  std::stable_sort(rows.begin(), rows.end(), [&](const ProfileRow &a, const ProfileRow &b) {
    uint64_t ka = key(a, o.sort), kb = key(b, o.sort);
    if (ka != kb) return ka > kb;
    return a.name < b.name;
  });
  if (o.limit && rows.size() > o.limit) rows.resize(o.limit);
  std::string head = fmt::format("{:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {}", "Total time",
                                 "Self time", "Avg time", "Max time", "Calls", "Function");
  if (o.threads) head = fmt::format("{:>8}  ", "Tid") + head;
  std::printf("%s\n", paint(head, "1").c_str());
  std::printf("%s\n", std::string(head.size(), '=').c_str());
  for (const ProfileRow &r : rows) {
    std::string line = fmt::format(
        "{}  {}  {}  {}  {:>10}  {}", duration(r.total_ns), duration(r.self_ns),
        duration(r.calls ? r.total_ns / r.calls : 0), duration(r.max_ns), r.calls, r.name);
    if (o.threads) line = fmt::format("{:>8}  ", r.tid) + line;
    if (o.srcline) {
      std::string src = r.ip ? m.source(r.ip) : "";
      if (!src.empty()) line += "  [" + src + "]";
    }
    std::printf("%s\n", line.c_str());
  }
}

void run(const ReportOptions &o) {
  bool first = true;
  for_each_process(o.dir, o.pid, [&](TraceModel &m, bool several) {
    if (several) std::printf("%s%s\n", first ? "" : "\n", process_heading(m).c_str());
    first = false;
    report(m, o);
  });
}

}  // namespace

void add_report(CLI::App &app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App *cmd = app.add_subcommand("report", "The profile: time and calls per function");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("-s,--sort", o->sort, "calls | total | self | avg | max")
      ->check(CLI::IsMember({"calls", "total", "self", "avg", "max"}))
      ->capture_default_str();
  cmd->add_option("-n", o->limit, "Show the first N functions only");
  cmd->add_option("--pid", o->pid, "Only this process of a multi-process trace (record --follow)");
  cmd->add_flag("--threads", o->threads, "One table row per thread and function");
  cmd->add_flag("--srcline", o->srcline,
                "Show each function's source file and line (debug info), like uftrace");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
