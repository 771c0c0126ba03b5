// timing.h — clocks, medians and the timed call loops of sled-bench-dispatch
// (also used by sled-bench-peers). A loop makes n chained direct calls of
// one function and returns the CPU time its thread spent, in ns (on a
// shared machine, time while descheduled is not the function's cost);
// repetitions are calibrated to a target duration and summarised by their
// median. Patching is timed with the wall clock (now_ns).
#pragma once
#include <cstdint>
#include <vector>

namespace bench {

uint64_t now_ns();         // CLOCK_MONOTONIC
uint64_t thread_cpu_ns();  // CLOCK_THREAD_CPUTIME_ID
double median(std::vector<double> values);

// n chained calls of one function; returns the thread CPU ns they took.
using CallLoop = uint64_t (*)(uint64_t n);

template <int (*Fn)(int)>
__attribute__((noinline)) uint64_t call_loop(uint64_t n) {
  int x = 0;
  uint64_t t0 = thread_cpu_ns();
  for (uint64_t i = 0; i < n; i++) x = Fn(x);
  uint64_t t1 = thread_cpu_ns();
  __asm__ volatile("" : : "r"(x));
  return t1 - t0;
}

// The number of calls for which the loop takes about target_ms.
uint64_t calls_for(CallLoop loop, double target_ms);
// One sample: ns/call of n calls.
double one_thread_sample(CallLoop loop, uint64_t n);
// One sample with two threads running n calls each at the same time
// (started together after a warm-up): the mean of their ns/call. With
// `parallel`, also how much the two loops really ran at once: the sum of
// their CPU time over twice the wall time of both (1: fully in parallel,
// 0.5: taking turns on one CPU).
double two_thread_sample(CallLoop loop, uint64_t n, double* parallel = nullptr);
// Median ns/call over `reps` samples of about target_ms each.
double ns_per_call(CallLoop loop, int reps, double target_ms);

}  // namespace bench
