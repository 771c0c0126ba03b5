// recorded.cc — see recorded.h.
#include "recorded.h"

#include <vector>

namespace peers {

std::atomic<uint64_t> g_counted_calls{0};

uint64_t recorded_calls_for(uint64_t n, int reps) {
  // bench::two_thread_sample: each thread warms up with n / 16 calls.
  return static_cast<uint64_t>(reps) * (n + 2 * (n + n / 16));
}

void time_recorded(bench::CallLoop loop, uint64_t n, int reps, RecordedCost* cost) {
  std::vector<double> one, two, overlap;
  for (int r = 0; r < reps; r++) one.push_back(bench::one_thread_sample(loop, n));
  for (int r = 0; r < reps; r++) {
    double parallel = 0;
    two.push_back(bench::two_thread_sample(loop, n, &parallel));
    overlap.push_back(parallel);
  }
  cost->one = bench::median(one);
  cost->two = bench::median(two);
  cost->overlap = bench::median(overlap);
}

}  // namespace peers
