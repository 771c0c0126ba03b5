// grace_latency.cc — sled-bench-grace: how long a change waits for its
// grace period while other threads call traced functions flat out (0, 1
// and 2 busy threads on this machine's CPUs), and what
// sled_unregister_ops_async buys: 1,000 ops registered and unregistered,
// synchronously vs asynchronously (until the last completion callback), in
// the same run. Prints a markdown table.
//   sled-bench-grace [CYCLES]     (default 200 register+unregister cycles)
#include <sched.h>
#include <sled/sled.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "tiny.h"

namespace {

double now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void empty_cb(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {}

// Threads calling tiny_traced (traced by an empty callback) until stopped.
class Busy {
 public:
  explicit Busy(int n) {
    for (int i = 0; i < n; i++)
      threads_.emplace_back([this] {
        int x = 0;
        while (!stop_.load(std::memory_order_relaxed)) x = tiny_traced(x) & 1023;
      });
  }
  ~Busy() {
    stop_.store(true);
    for (auto &t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

struct Quantiles {
  double median, p90, max;
};
Quantiles quantiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 9 / 10], v.back()};
}

// One register + unregister of an ops on other_traced, `cycles` times.
Quantiles cycle_latency(int cycles) {
  std::vector<double> t;
  for (int i = 0; i < cycles; i++) {
    sled_ops ops{};
    ops.func = empty_cb;
    sled_set_filter(&ops, "other_traced", 1);
    double t0 = now_us();
    if (sled_register_ops(&ops) != 0 || sled_unregister_ops(&ops) != 0) {
      std::fprintf(stderr, "sled-bench-grace: %s\n", sled_last_error());
      std::exit(1);
    }
    t.push_back(now_us() - t0);
  }
  return quantiles(t);
}

// 1,000 ops on tiny_traced/other_traced, registered then unregistered; µs
// until the last one is gone (async: its completion callback ran).
double thousand(bool async) {
  constexpr int kOps = 1000;
  auto ops = std::make_unique<sled_ops[]>(kOps);
  std::atomic<int> done{0};
  double t0 = now_us();
  for (int i = 0; i < kOps; i++) {
    ops[i] = sled_ops{};
    ops[i].func = empty_cb;
    sled_set_filter(&ops[i], i % 2 ? "tiny_traced" : "other_traced", 1);
    if (sled_register_ops(&ops[i]) != 0) std::exit(1);
    int rc =
        async ? sled_unregister_ops_async(
                    &ops[i],
                    [](sled_ops *, void *a) { static_cast<std::atomic<int> *>(a)->fetch_add(1); },
                    &done)
              : sled_unregister_ops(&ops[i]);
    if (rc != 0) std::exit(1);
  }
  while (async && done.load() != kOps) sched_yield();
  return now_us() - t0;
}

}  // namespace

int main(int argc, char **argv) {
  int cycles = argc > 1 ? std::atoi(argv[1]) : 200;
  if (cycles <= 0) return 2;
  sled_ops load{};
  load.func = empty_cb;
  sled_set_filter(&load, "tiny_traced", 1);
  if (sled_register_ops(&load) != 0) return 1;
  std::printf("## sled-bench-grace (%u CPUs)\n\n", std::thread::hardware_concurrency());
  std::printf(
      "| busy threads calling a traced function | register + unregister: median | p90 | max "
      "| 1,000 ops, sync unregister | 1,000 ops, async unregister | async ÷ sync |\n"
      "|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int busy = 0; busy <= 2; busy++) {
    Busy b(busy);
    Quantiles q = cycle_latency(cycles);
    double sync = thousand(false);
    double async = thousand(true);
    std::printf("| %d | %.0f µs | %.0f µs | %.0f µs | %.1f ms | %.1f ms | %.3f |\n", busy, q.median,
                q.p90, q.max, sync / 1e3, async / 1e3, async / sync);
    std::fflush(stdout);
  }
  sled_unregister_ops(&load);
  return 0;
}
