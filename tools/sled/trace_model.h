// What the subcommands read: a trace directory turned into per-thread call
// trees (entry/exit pairs with times, depth, arguments, return value),
// function names (demangled) and source-free symbols. Built on the reader
// library (tracers/record/reader.h); owns no formatting.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "debug_info.h"
#include "progress.h"
#include "record/reader.h"

namespace sled::cli {

struct Call {
  uintptr_t ip = 0;
  uintptr_t parent_ip = 0;
  uint64_t start_ns = 0, end_ns = 0;  // end_ns == 0: still open at the trace's end
  unsigned depth = 0;
  bool unwound = false;
  bool has_retval = false;
  uint64_t retval = 0;
  std::vector<uint64_t> args;
  uint64_t child_ns = 0;  // time in hooked callees (for self time)
  uint64_t duration() const { return end_ns > start_ns ? end_ns - start_ns : 0; }
};

// One line of `sled replay`: an event in time order.
struct Line {
  uint32_t tid = 0;
  uint64_t ns = 0;
  reader::EventKind kind = reader::EventKind::entry;
  unsigned depth = 0;
  size_t call = 0;  // index into Thread::calls (entry/exit)
  uint32_t marker = 0;
  uint64_t marker_arg = 0;
  std::vector<uint64_t> values;  // stack ips
};

struct ThreadCalls {
  uint32_t tid = 0;
  std::vector<Call> calls;  // in entry order
  std::vector<Line> lines;  // in time order
};

class TraceModel {
 public:
  // "" on success, else the reader's error. `progress` (optional) counts
  // the events read.
  std::string load(const std::string &dir, Progress *progress = nullptr);
  const reader::Trace &trace() const { return *trace_; }
  const std::vector<ThreadCalls> &threads() const { return threads_; }
  // Demangled name of the function starting at ip, or "0x..." when unknown.
  std::string name(uintptr_t ip) const;
  // The DWARF facts of the function at ip (nullptr without debug info),
  // the ABI of its module, and "file:line" of its definition ("" unknown).
  // Modules are read on first use.
  const FunctionInfo *function_info(uintptr_t ip) const;
  Abi abi_of(uintptr_t ip) const;
  std::string source(uintptr_t ip) const;
  uint64_t start_ns() const { return start_ns_; }
  uint64_t end_ns() const { return end_ns_; }

 private:
  std::optional<reader::Trace> trace_;
  std::vector<ThreadCalls> threads_;
  uint64_t start_ns_ = 0, end_ns_ = 0;
  mutable DebugInfo debug_;  // a cache: reading it does not change the trace
};

// Per function: the profile table (from the trace's "profile" section when
// the profile tracer ran, else from the call trees).
struct ProfileRow {
  uintptr_t ip = 0;  // the function's entry (0: unknown)
  std::string name;
  uint64_t calls = 0, total_ns = 0, self_ns = 0, max_ns = 0;
  uint32_t tid = 0;  // with --threads
};
std::vector<ProfileRow> profile_of(const TraceModel &m, bool per_thread);

std::string demangle(const std::string &name);
// What TraceModel::name says, from the trace alone: the demangled name of
// the function starting at ip, "name+0x.." inside one, else "0x...".
std::string function_name(const reader::Trace &t, uintptr_t ip);

// The events the trace's threads recorded (0 when a thread's count is
// unknown: a cut trace): the total of a progress bar.
uint64_t event_count(const reader::Trace &t);

}  // namespace sled::cli
