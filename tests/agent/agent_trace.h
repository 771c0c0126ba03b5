// What the agent tests read from a trace directory, through the reader
// library (sled_reader): each thread's entry/exit/args/retval events as one
// line each ("> f", "< f", "args 1", "= 5"; functions named from the trace's
// own symbol table), the calls per function of the "profile" section, and
// the events lost.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct AgentTrace {
  std::vector<std::vector<std::string>> threads;  // threads with events, in the reader's order
  std::map<std::string, uint64_t> profile_calls;  // from the "profile" section, if any
  uint64_t lost = 0;
  std::string error;
};

// strict: the trace must be complete (footer written). false with
// trace->error when it cannot be read.
bool read_agent_trace(const std::string &dir, bool strict, AgentTrace *trace);
