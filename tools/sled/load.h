// Loading the trace a reading subcommand names: one clear error otherwise.
// A trace directory may hold several processes (record --follow): the
// subcommands read each in turn, or the one --pid names.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include "commands.h"
#include "progress.h"
#include "trace_model.h"
#include "trace_set.h"

namespace sled::cli {
// Loads `dir` into m; false (after printing the error, exit status 1) when
// it cannot be read. A cut trace is read up to the cut, with a warning.
// A progress bar shows on a terminal while a big trace is read.
inline bool load_trace(const std::string &dir, TraceModel &m) {
  Progress progress("sled: reading " + dir, 0);
  std::string err = m.load(dir, &progress);
  progress.finish();
  if (!err.empty()) {
    fail(1, dir + ": " + err);
    return false;
  }
  if (m.trace().cut())
    std::fprintf(stderr, "sled: warning: %s is cut (%s); reading what was written\n", dir.c_str(),
                 m.trace().cut_reason().c_str());
  return true;
}

// The processes of `dir` (all, or the one `pid` names); false after
// printing the error.
inline bool select_processes(const std::string &dir, uint32_t pid, std::vector<ProcessTrace> *out) {
  std::string err = trace_processes(dir, pid, out);
  if (err.empty()) return true;
  fail(1, dir + ": " + err);
  return false;
}

// Loads each selected process of `dir` in turn (one in memory at a time)
// and runs fn on it; `several` says there is more than one, so fn labels
// its output with the pid. False when one could not be read.
inline bool for_each_process(const std::string &dir, uint32_t pid,
                             const std::function<void(TraceModel &, bool several)> &fn) {
  std::vector<ProcessTrace> procs;
  if (!select_processes(dir, pid, &procs)) return false;
  for (const ProcessTrace &p : procs) {
    TraceModel m;
    if (!load_trace(p.dir, m)) return false;
    fn(m, procs.size() > 1);
  }
  return true;
}

// "# process 1234: cli_prog", the line that starts a process's output.
inline std::string process_heading(const TraceModel &m) {
  return "# process " + std::to_string(m.trace().header().pid) + ": " +
         program_name(m.trace().header().program);
}
}  // namespace sled::cli
