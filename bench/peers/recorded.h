// recorded.h — ns per recorded call for sled-bench-peers' "recorded calls"
// table: a tracer writes an event (entry, or entry and exit) for every call
// of the tiny function, and each figure is checked against the number of
// events the tracer says it wrote. Owns the counted call loops and the one-
// and two-thread timing shared by sled_record_side.cc and
// xray_fdr_side.cc; knows nothing of either tracer.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "timing.h"

namespace peers {

struct RecordedCost {
  double one = 0;             // ns/call, one thread (thread CPU time / calls)
  double two = 0;             // ns/call per thread, two threads calling at once
  double overlap = 0;         // how much the two threads ran at once (1: fully)
  uint64_t calls = 0;         // calls made while the tracer recorded (every loop)
  uint64_t events = 0;        // events the tracer reports written for them
  uint64_t lost = 0;          // events it reports dropped or overwritten
  double bytes_per_call = 0;  // in the tracer's buffers (0: not known)
  bool ring = false;          // the buffers wrapped: events = the survivors, lost unknown
  std::string error;          // non-empty: the figures are not valid
};

// Calls made by counted_loop since the last reset. Relaxed: read by the
// measuring thread after joining the threads that added to it.
extern std::atomic<uint64_t> g_counted_calls;

// bench::call_loop<Fn>, adding n to g_counted_calls (outside the timing).
template <int (*Fn)(int)>
uint64_t counted_loop(uint64_t n) {
  g_counted_calls.fetch_add(n, std::memory_order_relaxed);
  return bench::call_loop<Fn>(n);
}

// Times `loop` with the tracer recording: warm_calls untimed calls, then
// `reps` one-thread samples of n calls; then two threads, each making
// warm_calls untimed calls, then `reps` samples of n calls per thread at
// once (medians); sets one, two, overlap. Calibrate n beforehand
// (bench::calls_for). The warm-up lets a tracer's buffers be touched once
// (a first write to a page costs a page fault: ~10 µs in this VM) so that
// the samples time the steady state.
void time_recorded(bench::CallLoop loop, uint64_t n, int reps, uint64_t warm_calls,
                   RecordedCost* cost);

// The calls time_recorded makes, warm-ups included: what a tracer's buffers
// must hold to keep every event.
uint64_t recorded_calls_for(uint64_t n, int reps, uint64_t warm_calls);

// ring: a pool of 16 MiB that wraps, warmed (steady state, survivors only
// counted); otherwise a pool that keeps every record, not warmed (every
// record counted; its pages are touched for the first time while timed).
RecordedCost measure_xray_fdr(int reps, double target_ms, bool ring);
// tracer: "function" or "function_graph"; mode: "drop" or "overwrite".
RecordedCost measure_sled_recorded(const char* tracer, const char* mode, int reps,
                                   double target_ms);

}  // namespace peers
