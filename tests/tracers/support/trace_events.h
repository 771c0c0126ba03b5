// trace_events.h — what the tracer tests compare: the events of a trace as
// plain structs and as one line of text each ("> trc_top", "< trc_leaf
// unwound", "args 1 2", "= 5", "traceoff @trc_mark", "stack trc_mark
// trc_stack_a ..."), per thread in recorded order. Two back ends fill it:
// the reader library over the trace directory (events_reader.cc), or the
// in-memory recorder of the tracer unit tests (fake_recorder.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trc_test {

enum class Kind { entry, exit, args, retval, stack, marker };

struct Event {
  Kind kind{};
  uint64_t tid = 0;
  uint64_t ts = 0;
  uintptr_t ip = 0;
  uintptr_t parent_ip = 0;
  bool unwound = false;
  uint32_t marker = 0;             // rec::Marker
  std::vector<uint64_t> values;    // args, retval (one), stack ips
  std::string name;                // the function at ip ("" if unknown)
  std::vector<std::string> names;  // stack: the function containing each ip
};

struct Thread {
  uint64_t tid = 0;
  std::vector<Event> events;
};

// The trace in dir, threads in the order of their first event. false with
// *error on a read failure.
bool read_trace(const std::string &dir, std::vector<Thread> *out, std::string *error);

// Snapshots requested from callbacks so far (rec::request_snapshot), or -1
// where the back end cannot tell (the real recorder).
int64_t snapshots_requested();

// One line per event (see above); exit/entry names only, no times.
std::vector<std::string> render(const std::vector<Event> &events);

// The function of the fixture containing addr ("?" outside them).
std::string function_containing(uintptr_t addr);

}  // namespace trc_test
