// timing.cc — see timing.h. Calibration doubles the call count until one
// loop takes a few milliseconds, then scales it to the target duration.
#include "timing.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace bench {
namespace {

uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

uint64_t calls_for(CallLoop loop, double target_ms) {
  uint64_t n = 256;
  uint64_t elapsed = loop(n);
  while (elapsed < 2'000'000 && n < (uint64_t{1} << 40)) {
    n *= 2;
    elapsed = loop(n);
  }
  double scaled = static_cast<double>(n) * target_ms * 1e6 / static_cast<double>(elapsed);
  return std::max<uint64_t>(static_cast<uint64_t>(scaled), 1);
}

uint64_t now_ns() { return clock_ns(CLOCK_MONOTONIC); }
uint64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double one_thread_sample(CallLoop loop, uint64_t n) {
  return static_cast<double>(loop(n)) / static_cast<double>(n);
}

double two_thread_sample(CallLoop loop, uint64_t n, double* parallel) {
  std::atomic<int> ready{0};
  double per_thread[2] = {0, 0};
  uint64_t wall_start[2] = {0, 0}, wall_end[2] = {0, 0};
  auto worker = [&](int i) {
    loop(n / 16);  // warm-up: sled's per-thread state, caches
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    wall_start[i] = now_ns();
    per_thread[i] = one_thread_sample(loop, n);
    wall_end[i] = now_ns();
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  double wall = static_cast<double>(std::max(wall_end[0], wall_end[1]) -
                                    std::min(wall_start[0], wall_start[1]));
  if (parallel && wall > 0)
    *parallel = (per_thread[0] + per_thread[1]) * static_cast<double>(n) / (2 * wall);
  return (per_thread[0] + per_thread[1]) / 2;
}

double ns_per_call(CallLoop loop, int reps, double target_ms) {
  uint64_t n = calls_for(loop, target_ms);
  std::vector<double> samples;
  for (int r = 0; r < reps; r++) samples.push_back(one_thread_sample(loop, n));
  return median(samples);
}

}  // namespace bench
