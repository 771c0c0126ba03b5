// tracers_hotpath: ns per recorded call of the function and function_graph
// tracers on a tiny function, next to the floors they are made of, in one
// process and one run (absolute figures move between runs; the ratios do
// not). Not a test: it prints a table and asserts nothing about time.
//
//   untraced                     the call itself
//   empty ops / empty graph ops  sled's entry path / entry + return hook with
//                                empty callbacks (the engine's share)
//   function / function_graph    the tracers, recording (overwrite mode, so
//                                the buffer never fills and every call records)
//   now / writer / entry+exit    the recorder's parts, called directly
//
// Usage: tracers_hotpath [STRATEGY [EXTRA sled_trace_open OPTIONS]]
//
// Each figure is the best of 7 samples of 1M calls.
#include <sled/graph.h>
#include <sled/trace.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "tracers/record/recorder.h"

extern "C" long trc_bench_leaf(long x);

namespace {

constexpr long kCalls = 1'000'000;

template <class F>
double best_ns_per_call(F &&body) {
  double best = 1e30;
  for (int s = 0; s < 7; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    body();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / kCalls);
  }
  return best;
}

double calls() {
  return best_ns_per_call([] {
    long x = 0;
    for (long i = 0; i < kCalls; ++i) x = trc_bench_leaf(x);
    __asm__ volatile("" ::"r"(x));
  });
}

void empty_func(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {}
int empty_entry(uintptr_t, uintptr_t, sled_graph_ops *, sled_regs *, uint64_t *) { return 1; }
void empty_ret(const sled_graph_ret *, sled_graph_ops *) {}

int fail(const char *what, int rc) {
  fprintf(stderr, "tracers_hotpath: %s: %d (%s / %s)\n", what, rc, sled_trace_last_error(),
          sled_last_error());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  const char *strategy = argc > 1 ? argv[1] : "callops";
  if (int rc = sled_set_strategy(strategy); rc) return fail("strategy", rc);
  std::string dir = "/tmp/sled-hotpath." + std::to_string(getpid());
  std::string open = "dir=" + dir + " buffer=16M mode=overwrite";
  if (argc > 2) open += std::string(" ") + argv[2];  // e.g. clock=monotonic
  printf("strategy %s, best of 7 x %ld calls, ns per call\n", strategy, kCalls);
  double base = calls();
  printf("  %-34s %6.2f\n", "untraced", base);

  static sled_ops ops;
  ops.func = empty_func;
  sled_set_filter(&ops, "trc_bench_leaf", 1);
  if (int rc = sled_register_ops(&ops); rc) return fail("register", rc);
  double empty_ops = calls();
  sled_unregister_ops(&ops);
  printf("  %-34s %6.2f  (+%.2f)\n", "empty ops", empty_ops, empty_ops - base);

  static sled_graph_ops gops;
  gops.entry = empty_entry;
  gops.ret = empty_ret;
  sled_set_filter(&gops.ops, "trc_bench_leaf", 1);
  double empty_graph = -1;
  if (sled_register_graph_ops(&gops) == 0) {
    empty_graph = calls();
    sled_unregister_graph_ops(&gops);
    printf("  %-34s %6.2f  (+%.2f)\n", "empty graph ops", empty_graph, empty_graph - base);
  }

  struct Run {
    const char *tracer, *options;
  } runs[] = {{"function", "filter=trc_bench_leaf"},
              {"function_graph", "filter=trc_bench_leaf"},
              {"function_graph", "filter=trc_bench_leaf args=1 retval=1"}};
  for (const Run &r : runs) {
    if (int rc = sled_trace_open(open.c_str()); rc) return fail("open", rc);
    if (int rc = sled_tracer_start(r.tracer, r.options); rc) return fail(r.tracer, rc);
    double t = calls();
    sled_trace_stats st{};
    sled_trace_get_stats(&st);
    if (int rc = sled_trace_close(); rc) return fail("close", rc);
    std::string label = std::string(r.tracer) + " " + (r.options + strlen("filter=trc_bench_leaf"));
    printf("  %-34s %6.2f  (+%.2f; %llu events, %llu lost)\n", label.c_str(), t, t - base,
           (unsigned long long)st.events, (unsigned long long)st.lost);
  }

  // The recorder's parts, from this thread, outside any callback.
  if (int rc = sled_trace_open(open.c_str()); rc) return fail("open", rc);
  double now = best_ns_per_call([] {
    uint64_t acc = 0;
    for (long i = 0; i < kCalls; ++i) acc += sled::rec::now();
    __asm__ volatile("" ::"r"(acc));
  });
  double writer = best_ns_per_call([] {
    for (long i = 0; i < kCalls; ++i) {
      auto *w = sled::rec::thread_writer();
      __asm__ volatile("" ::"r"(w));
    }
  });
  double pair = best_ns_per_call([] {
    for (long i = 0; i < kCalls; ++i) {
      sled::rec::Writer *w = sled::rec::thread_writer();
      sled::rec::entry(w, sled::rec::now(), 0x1000, 0x2000);
      sled::rec::exit(sled::rec::thread_writer(), sled::rec::now(), 0x1000, false);
    }
  });
  sled_trace_close();
  printf("  %-34s %6.2f\n", "rec::now", now);
  printf("  %-34s %6.2f\n", "rec::thread_writer", writer);
  printf("  %-34s %6.2f\n", "2x(writer+now) + entry + exit", pair);
  std::string rm = "rm -rf " + dir;
  return system(rm.c_str()) == 0 ? 0 : 1;
}
