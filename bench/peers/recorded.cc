// recorded.cc — see recorded.h. The two-thread samples use one pair of
// threads for every repetition, so that each thread's buffer is warmed once
// (its pages touched) and no sample pays a new thread's first events.
#include "recorded.h"

#include <algorithm>
#include <barrier>
#include <thread>
#include <vector>

namespace peers {

std::atomic<uint64_t> g_counted_calls{0};

uint64_t recorded_calls_for(uint64_t n, int reps, uint64_t warm_calls) {
  return 3 * warm_calls + 3 * static_cast<uint64_t>(reps) * n;
}

namespace {

// reps samples of two threads calling `loop` n times at once: the mean of
// their ns/call, and how much they overlapped (sum of CPU time over twice
// the wall time from the first start to the last end).
void two_threads(bench::CallLoop loop, uint64_t n, int reps, uint64_t warm_calls,
                 std::vector<double>* per_call, std::vector<double>* overlap) {
  std::vector<double> ns[2];
  std::vector<uint64_t> start[2], end[2];
  std::barrier sync(2);
  auto worker = [&](int i) {
    loop(warm_calls);
    for (int r = 0; r < reps; r++) {
      sync.arrive_and_wait();
      start[i].push_back(bench::now_ns());
      ns[i].push_back(bench::one_thread_sample(loop, n));
      end[i].push_back(bench::now_ns());
      sync.arrive_and_wait();
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  for (int r = 0; r < reps; r++) {
    double wall =
        static_cast<double>(std::max(end[0][r], end[1][r]) - std::min(start[0][r], start[1][r]));
    per_call->push_back((ns[0][r] + ns[1][r]) / 2);
    overlap->push_back(wall > 0 ? (ns[0][r] + ns[1][r]) * static_cast<double>(n) / (2 * wall) : 0);
  }
}

}  // namespace

void time_recorded(bench::CallLoop loop, uint64_t n, int reps, uint64_t warm_calls,
                   RecordedCost* cost) {
  std::vector<double> one, two, overlap;
  loop(warm_calls);
  for (int r = 0; r < reps; r++) one.push_back(bench::one_thread_sample(loop, n));
  two_threads(loop, n, reps, warm_calls, &two, &overlap);
  cost->one = bench::median(one);
  cost->two = bench::median(two);
  cost->overlap = bench::median(overlap);
}

}  // namespace peers
