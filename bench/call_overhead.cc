/* call_overhead.cc — sled-bench-call: what one call of a tiny function costs
 * in each tracing state, and the markdown table that compares them.
 *
 *   1  uninstrumented            tiny_plain: the same code, no patch site
 *   2  instrumented, no ops      tiny_traced, its entry a 5-byte NOP
 *   3  one ops, empty callback   site → trampoline → callback (recursion guard on)
 *   3r one ops, RECURSION_SAFE   the same without sled's recursion guard
 *   3s one ops, SAVES_REGS       a preserve_all callback: no xmm0-7 saves
 *   4  ops on another function   tiny_traced disabled while an ops traces other_traced
 *   5  two ops on this function  the literal names the list ops
 *   3t one ops, reads the clock  the callback reads the timestamp the
 *                                recorder reads (rdtsc / cntvct_el0)
 *   3f function tracer           sled_tracer_start("function") through
 *                                sled/trace.h, recording (libsled-trace)
 *   6  graph ops, declined       the entry callback declines the return
 *   7  graph ops, hooked         return hooked, empty callbacks
 *   8  graph ops, reads clock    7, both callbacks read the timestamp
 *   8w graph ops, writer lookup  8 with the recorder's own now() and
 *                                thread_writer() (sled::rec, exported by
 *                                libsled-trace), a session open, no write
 *   9  function_graph tracer     sled/trace.h, recording: 8w + the writes
 *   D  direct call               a direct ops (sled_ops_set_direct) alone:
 *                                the site calls its trampoline, which only
 *                                returns into the body (examples/
 *                                direct_tramp_<arch>.S); compared with F1
 *   F1 floor: call + ret         a call at the entry to a stub that only
 *                                returns (floors.S: x86_64 and aarch64)
 *   F2 floor: save + C call      a stub shaped like ftrace_caller: saves the
 *                                GPRs sled saves, calls an empty C handler;
 *                                also the floor of a SAVES_REGS callback
 *   F3 floor: F2 + FP saves      F2 also saving the 8 FP/SIMD argument
 *                                registers: the floor of an ordinary callback
 *
 * sled-bench-call-static is the same program with libsled linked in
 * (SLED_BENCH_STATIC, no tracer rows): the site calls the trampoline
 * directly, as XRay's sleds call its statically linked runtime.
 *
 * The table prints each overhead also as a multiple of F2's overhead
 * ("x floor F2") and of F3's ("x F3"): ratios that stay put when the
 * machine's speed moves.
 *
 * Each loop makes one direct call per iteration to a noinline function of
 * another translation unit (the compiler cannot inline or hoist it), chained
 * through its result. Before a loop, the site is checked to be in the state
 * claimed (enabled, number of ops); a mismatch skips the run with an error
 * instead of printing a misleading figure. Flags: Google Benchmark's, plus
 * --sled_strategy=NAME (callops | list | dyntramp). After the usual console
 * output comes a table: median (or only) CPU time per call, its ratio to
 * state 1 and overhead in ns over state 1, and the real time per call.
 */
#include <benchmark/benchmark.h>
#include <sled/graph.h>
#include <sled/sled.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tiny.h"
#if SLED_BENCH_TRACE
#include <sled/trace.h>
#include <stdlib.h>

#include <filesystem>

#include "record/recorder.h"
#endif
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#if SLED_BENCH_FLOORS
#include "floors.h"
#endif

namespace {

void empty_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

uintptr_t ip_of(int (*fn)(int)) { return reinterpret_cast<uintptr_t>(fn); }

std::string describe(const char* what, int rc) {
  std::string text = std::string(what) + ": " + sled_strerror(rc);
  const char* detail = sled_last_error();
  if (detail && *detail) text += std::string(" (") + detail + ")";
  return text;
}

/* An ops with an empty callback tracing `filter`, registered for one run. */
class ScopedOps {
 public:
  explicit ScopedOps(const char* filter, uint32_t flags = 0, sled_func_t func = empty_callback) {
    ops_.func = func;
    ops_.flags = flags;
    if (int rc = sled_set_filter(&ops_, filter, 1); rc < 0) {
      error_ = describe("sled_set_filter", rc);
    } else if (rc = sled_register_ops(&ops_); rc < 0) {
      error_ = describe("sled_register_ops", rc);
    } else {
      registered_ = true;
    }
  }
  ScopedOps(const ScopedOps&) = delete;
  ScopedOps& operator=(const ScopedOps&) = delete;
  ~ScopedOps() {
    if (registered_) (void)sled_unregister_ops(&ops_);
  }
  /* False (and the run skipped) if the ops could not be set up. */
  bool ready(benchmark::State& state) const {
    if (!registered_) state.SkipWithError(error_.c_str());
    return registered_;
  }

 private:
  sled_ops ops_{};
  bool registered_ = false;
  std::string error_;
};

const char* dispatch_name(int dispatch) {
  switch (dispatch) {
    case SLED_DISPATCH_NONE:
      return "literal: nop ops";
    case SLED_DISPATCH_DIRECT:
      return "literal: the ops";
    case SLED_DISPATCH_LIST:
      return "literal: list ops";
    case SLED_DISPATCH_TRAMP:
      return "direct trampoline";
  }
  return "literal: ?";
}

/* Checks that fn's site is traced by exactly nr_ops ops (and enabled iff
 * nr_ops > 0); labels the run with what its literal names. */
bool expect_site(benchmark::State& state, int (*fn)(int), const char* name, unsigned nr_ops) {
  sled_site_info info{};
  if (int rc = sled_site_lookup(ip_of(fn), &info); rc < 0) {
    state.SkipWithError(describe(name, rc).c_str());
    return false;
  }
  const bool enabled = info.enabled != 0;
  if (info.refusal != SLED_SITE_OK || info.nr_ops != nr_ops || enabled != (nr_ops > 0)) {
    char text[160];
    std::snprintf(text, sizeof text, "%s: expected %u ops and %s, found refusal %d, %u ops, %s",
                  name, nr_ops, nr_ops ? "enabled" : "disabled", info.refusal, info.nr_ops,
                  enabled ? "enabled" : "disabled");
    state.SkipWithError(text);
    return false;
  }
  if (fn == tiny_traced) state.SetLabel(dispatch_name(info.dispatch));
  return true;
}

/* One call per iteration, each taking the previous result: a latency chain
 * kept in registers. DoNotOptimize gets a const reference on purpose: with
 * clang, the non-const overload ("+r,m") spills x to the stack each time,
 * adding a store-forwarding delay (~1 ns) to every state's figure. */
template <int (*Fn)(int)>
void call_loop(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    x = Fn(x);
    benchmark::DoNotOptimize(std::as_const(x));
  }
}

void uninstrumented(benchmark::State& state) { call_loop<tiny_plain>(state); }

void instrumented_off(benchmark::State& state) {
  if (expect_site(state, tiny_traced, "tiny_traced", 0)) call_loop<tiny_traced>(state);
}

void one_ops(benchmark::State& state) {
  ScopedOps ops("tiny_traced");
  if (ops.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

void one_ops_recursion_safe(benchmark::State& state) {
  ScopedOps ops("tiny_traced", SLED_OPS_FL_RECURSION_SAFE);
  if (ops.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

#ifdef SLED_SAVES_REGS /* clang on x86_64 only (sled.h) */
/* An empty callback in clang's preserve_all convention: it saves what it
 * uses itself, so the trampoline skips xmm0-7 (SLED_OPS_FL_SAVES_REGS). */
SLED_SAVES_REGS void empty_callback_saves_regs(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

void one_ops_saves_regs(benchmark::State& state) {
  ScopedOps ops("tiny_traced", SLED_OPS_FL_SAVES_REGS,
                reinterpret_cast<sled_func_t>(&empty_callback_saves_regs));
  if (ops.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}
#endif

void ops_elsewhere(benchmark::State& state) {
  ScopedOps ops("other_traced");
  if (ops.ready(state) && expect_site(state, other_traced, "other_traced", 1) &&
      expect_site(state, tiny_traced, "tiny_traced", 0))
    call_loop<tiny_traced>(state);
}

void two_ops(benchmark::State& state) {
  ScopedOps first("tiny_traced"), second("tiny_traced");
  if (first.ready(state) && second.ready(state) &&
      expect_site(state, tiny_traced, "tiny_traced", 2))
    call_loop<tiny_traced>(state);
}

/* The timestamp the recorder takes per event when the TSC is invariant
 * (tracers/record/clock.cc: rdtsc on x86_64, cntvct_el0 on aarch64). */
inline uint64_t read_timestamp() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  uint64_t v;
  __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  return 0;
#endif
}

/* Where the timestamp callbacks put what they read, so that the read is
 * not optimised away (one store, like a tracer's). */
uint64_t g_last_timestamp;

/* Graph ops: the return hooked (one shadow-stack push and pop, the
 * return handler, one mispredicted return), empty callbacks. */
class ScopedGraphOps {
 public:
  explicit ScopedGraphOps(const char* filter, bool hook_return, bool timestamps = false) {
    gops_.entry =
        hook_return
            ? [](uintptr_t, uintptr_t, sled_graph_ops*, sled_regs*, uint64_t*) { return 1; }
            : [](uintptr_t, uintptr_t, sled_graph_ops*, sled_regs*, uint64_t*) { return 0; };
    gops_.ret = [](const sled_graph_ret*, sled_graph_ops*) {};
    if (timestamps) {
      gops_.entry = [](uintptr_t, uintptr_t, sled_graph_ops*, sled_regs*, uint64_t*) {
        g_last_timestamp = read_timestamp();
        return 1;
      };
      gops_.ret = [](const sled_graph_ret*, sled_graph_ops*) {
        g_last_timestamp = read_timestamp();
      };
    }
    if (int rc = sled_set_filter(&gops_.ops, filter, 1); rc < 0)
      error_ = describe("sled_set_filter", rc);
    else if (rc = sled_register_graph_ops(&gops_); rc < 0)
      error_ = describe("sled_register_graph_ops", rc);
    else
      registered_ = true;
  }
  ScopedGraphOps(const ScopedGraphOps&) = delete;
  ScopedGraphOps& operator=(const ScopedGraphOps&) = delete;
  ~ScopedGraphOps() {
    if (registered_) (void)sled_unregister_graph_ops(&gops_);
  }
  bool ready(benchmark::State& state) const {
    if (!registered_) state.SkipWithError(error_.c_str());
    return registered_;
  }

 private:
  sled_graph_ops gops_{};
  bool registered_ = false;
  std::string error_;
};

void timestamp_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {
  g_last_timestamp = read_timestamp();
}

void one_ops_timestamp(benchmark::State& state) {
  ScopedOps ops("tiny_traced", 0, timestamp_callback);
  if (ops.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

void graph_declined(benchmark::State& state) {
  ScopedGraphOps g("tiny_traced", false);
  if (g.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

void graph_hooked(benchmark::State& state) {
  ScopedGraphOps g("tiny_traced", true);
  if (g.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

void graph_timestamps(benchmark::State& state) {
  ScopedGraphOps g("tiny_traced", true, true);
  if (g.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1))
    call_loop<tiny_traced>(state);
}

#if SLED_BENCH_TRACE
/* A recording session (sled/trace.h) with one tracer on tiny_traced, for
 * one run: overwrite mode (the thread never waits for the drain, and no
 * event is dropped, so every call records), 16 MiB per thread, the trace
 * in a temporary directory (/dev/shm when there is one) removed after.
 * Checks that every call of the run was recorded. */
class ScopedTracer {
 public:
  ScopedTracer(const char* tracer, unsigned events_per_call)
      : tracer_(tracer), per_call_(events_per_call) {
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    dir_ = base + "/sled-bench-call-XXXXXX";
    if (!mkdtemp(dir_.data())) {
      error_ = "mkdtemp failed";
      dir_.clear();
      return;
    }
    std::string options = "dir=" + dir_ + "/trace buffer=16M mode=overwrite";
    if (int rc = sled_trace_open(options.c_str()); rc < 0) {
      error_ = std::string("sled_trace_open: ") + sled_trace_last_error();
    } else if (!tracer) {
      open_ = true;  // a session without tracer (row 8w)
    } else if (rc = sled_tracer_start(tracer, "filter=tiny_traced"); rc < 0) {
      error_ = std::string("sled_tracer_start: ") + sled_trace_last_error();
      (void)sled_trace_close();
    } else {
      open_ = true;
      (void)sled_trace_get_stats(&before_);
    }
  }
  ScopedTracer(const ScopedTracer&) = delete;
  ScopedTracer& operator=(const ScopedTracer&) = delete;
  ~ScopedTracer() {
    if (open_) {
      if (tracer_) (void)sled_tracer_stop(tracer_);
      (void)sled_trace_close();
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  bool ready(benchmark::State& state) const {
    if (!open_) state.SkipWithError(error_.c_str());
    return open_;
  }
  /* After the loop: an error unless iterations x events per call were
   * recorded and none lost. */
  void check(benchmark::State& state) const {
    sled_trace_stats after{};
    (void)sled_trace_get_stats(&after);
    const uint64_t expected = static_cast<uint64_t>(state.iterations()) * per_call_;
    const uint64_t events = after.events - before_.events, lost = after.lost - before_.lost;
    if (events != expected || lost != 0) {
      char text[160];
      std::snprintf(text, sizeof text, "%s: %llu events recorded, %llu lost, %llu expected",
                    tracer_, static_cast<unsigned long long>(events),
                    static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(expected));
      state.SkipWithError(text);
    }
  }

 private:
  const char* tracer_;
  unsigned per_call_;
  std::string dir_, error_;
  bool open_ = false;
  sled_trace_stats before_{};
};

/* Row 8w: what the tracer's callbacks do besides writing the event. */
uintptr_t g_last_writer;

void graph_writer_lookup(benchmark::State& state) {
  ScopedTracer session(nullptr, 0);
  sled_graph_ops gops{};
  gops.entry = [](uintptr_t, uintptr_t, sled_graph_ops*, sled_regs*, uint64_t*) {
    g_last_writer = reinterpret_cast<uintptr_t>(sled::rec::thread_writer());
    g_last_timestamp = sled::rec::now();
    return 1;
  };
  gops.ret = [](const sled_graph_ret*, sled_graph_ops*) {
    g_last_writer = reinterpret_cast<uintptr_t>(sled::rec::thread_writer());
    g_last_timestamp = sled::rec::now();
  };
  if (!session.ready(state)) return;
  if (int rc = sled_set_filter(&gops.ops, "tiny_traced", 1); rc < 0) {
    state.SkipWithError(describe("sled_set_filter", rc).c_str());
  } else if (rc = sled_register_graph_ops(&gops); rc < 0) {
    state.SkipWithError(describe("sled_register_graph_ops", rc).c_str());
  } else {
    if (expect_site(state, tiny_traced, "tiny_traced", 1)) call_loop<tiny_traced>(state);
    (void)sled_unregister_graph_ops(&gops);
    if (!g_last_writer) state.SkipWithError("rec::thread_writer() gave no writer");
  }
}

void function_tracer(benchmark::State& state) {
  ScopedTracer t("function", 1);
  if (t.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1)) {
    call_loop<tiny_traced>(state);
    t.check(state);
  }
}

void function_graph_tracer(benchmark::State& state) {
  ScopedTracer t("function_graph", 2);
  if (t.ready(state) && expect_site(state, tiny_traced, "tiny_traced", 1)) {
    call_loop<tiny_traced>(state);
    t.check(state);
  }
}
#endif

/* Row D: the site calls a direct trampoline that only returns. */
extern "C" void sled_example_direct_ret(void);
void direct_call(benchmark::State& state) {
  sled_ops ops{};
  int rc = sled_ops_set_direct(&ops, reinterpret_cast<void*>(&sled_example_direct_ret), 16);
  if (rc == 0) rc = sled_set_filter(&ops, "tiny_traced", 1);
  if (rc == 0) rc = sled_register_ops(&ops);
  if (rc < 0) {
    state.SkipWithError(describe("direct ops", rc).c_str());
    return;
  }
  sled_site_info info{};
  if (expect_site(state, tiny_traced, "tiny_traced", 1)) {
    if (sled_site_lookup(ip_of(tiny_traced), &info) == 0 && info.dispatch == SLED_DISPATCH_TRAMP)
      call_loop<tiny_traced>(state);
    else
      state.SkipWithError("tiny_traced does not call the direct trampoline");
  }
  (void)sled_unregister_ops(&ops);
}

#if SLED_BENCH_FLOORS
void floor_ret(benchmark::State& state) { call_loop<floor_call_ret>(state); }
void floor_save(benchmark::State& state) { call_loop<floor_save_call>(state); }
void floor_save_fp(benchmark::State& state) { call_loop<floor_save_fp_call>(state); }
#endif

/* The table's rows, in order; `name` is the benchmark's name. */
struct Row {
  const char* name;
  const char* description;
  void (*run)(benchmark::State&);
};
constexpr Row kRows[] = {
    {"1_uninstrumented", "1. uninstrumented (no patch site)", uninstrumented},
    {"2_instrumented_off", "2. instrumented, no ops", instrumented_off},
    {"3_one_ops", "3. one ops, empty callback", one_ops},
    {"3r_one_ops_recursion_safe", "3r. one ops, RECURSION_SAFE", one_ops_recursion_safe},
#ifdef SLED_SAVES_REGS
    {"3s_one_ops_saves_regs", "3s. one ops, SAVES_REGS (preserve_all)", one_ops_saves_regs},
#endif
    {"4_ops_elsewhere", "4. ops on another function only", ops_elsewhere},
    {"5_two_ops", "5. two ops on this function", two_ops},
    {"3t_one_ops_timestamp", "3t. one ops, callback reads the timestamp", one_ops_timestamp},
#if SLED_BENCH_TRACE
    {"3f_function_tracer", "3f. function tracer (trace.h), recording", function_tracer},
#endif
    {"6_graph_declined", "6. graph ops, entry declines the return", graph_declined},
    {"7_graph_hooked", "7. graph ops, return hooked, empty callbacks", graph_hooked},
    {"8_graph_timestamps", "8. graph ops, return hooked, callbacks read the timestamp",
     graph_timestamps},
#if SLED_BENCH_TRACE
    {"8w_graph_writer_lookup", "8w. 8 with the recorder's now() and thread_writer(), no write",
     graph_writer_lookup},
    {"9_function_graph_tracer", "9. function_graph tracer (trace.h), recording",
     function_graph_tracer},
#endif
    {"D_direct_call", "D. direct call: site calls its own trampoline (returns)", direct_call},
#if SLED_BENCH_FLOORS
    {"F1_floor_call_ret", "F1. floor: call to a stub that returns", floor_ret},
    {"F2_floor_save_call", "F2. floor: stub saves the GPRs, calls empty C handler", floor_save},
    {"F3_floor_save_fp_call", "F3. floor: F2 + the 8 FP/SIMD argument registers", floor_save_fp},
#endif
};
constexpr const char* kFloorRow = "F2_floor_save_call";
constexpr const char* kFpFloorRow = "F3_floor_save_fp_call";

/* Per-call times of one benchmark, in ns. */
struct Figure {
  double cpu = -1, real = -1;
};

/* The console reporter, also keeping each benchmark's time per call: the
 * "median" aggregate when repetitions give one, else the median of the runs
 * seen. CPU time leads the table: on a shared machine, real time also counts
 * the time other processes held the core. */
class TableReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const std::string name = run.run_name.str();
      if (run.error_occurred) {
        errors_[name] = run.error_message;
      } else if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") medians_[name] = figure_of(run);
      } else {
        samples_[name].push_back(figure_of(run));
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  /* Prints the markdown table of the states that ran; false if one failed. */
  bool print_table(std::FILE* out) {
    const Figure base = figure("1_uninstrumented");
    const Figure floor = figure(kFloorRow);
    const double floor_overhead = base.cpu > 0 && floor.cpu > 0 ? floor.cpu - base.cpu : -1;
    const Figure fp_floor = figure(kFpFloorRow);
    const double fp_overhead = base.cpu > 0 && fp_floor.cpu > 0 ? fp_floor.cpu - base.cpu : -1;
    std::fprintf(out,
                 "\n| state | ns/call (cpu) | ratio | overhead ns | x floor F2 | x F3 |"
                 " ns/call (real) |\n"
                 "|---|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& row : kRows) {
      const Figure f = figure(row.name);
      if (auto error = errors_.find(row.name); error != errors_.end()) {
        std::fprintf(out, "| %s | — | — | — | — | — | failed: %s |\n", row.description,
                     error->second.c_str());
      } else if (f.cpu < 0) {
        continue;  // filtered out
      } else if (base.cpu > 0) {
        char times_floor[32] = "—", times_fp[32] = "—";
        if (floor_overhead > 0)
          std::snprintf(times_floor, sizeof times_floor, "%.2f",
                        (f.cpu - base.cpu) / floor_overhead);
        if (fp_overhead > 0)
          std::snprintf(times_fp, sizeof times_fp, "%.2f", (f.cpu - base.cpu) / fp_overhead);
        std::fprintf(out, "| %s | %.2f | %.2f | %+.2f | %s | %s | %.2f |\n", row.description, f.cpu,
                     f.cpu / base.cpu, f.cpu - base.cpu, times_floor, times_fp, f.real);
      } else {
        std::fprintf(out, "| %s | %.2f | — | — | — | — | %.2f |\n", row.description, f.cpu, f.real);
      }
    }
    // Row D against F1, the target of direct calls (issue 11 §2: <= 1.3).
    const Figure direct = figure("D_direct_call"), f1 = figure("F1_floor_call_ret");
    if (base.cpu > 0 && direct.cpu > 0 && f1.cpu > base.cpu)
      std::fprintf(out, "\nD over F1 (overheads over state 1): %.2f\n",
                   (direct.cpu - base.cpu) / (f1.cpu - base.cpu));
    return errors_.empty();
  }

 private:
  static Figure figure_of(const Run& run) {  // one call per iteration
    const double ns = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
    return {run.GetAdjustedCPUTime() * ns, run.GetAdjustedRealTime() * ns};
  }
  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t mid = v.size() / 2;
    return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }
  Figure figure(const std::string& name) const {
    if (auto found = medians_.find(name); found != medians_.end()) return found->second;
    auto found = samples_.find(name);
    if (found == samples_.end() || found->second.empty()) return {};
    std::vector<double> cpu, real;
    for (const Figure& f : found->second) cpu.push_back(f.cpu), real.push_back(f.real);
    return {median(cpu), median(real)};
  }

  std::map<std::string, Figure> medians_;
  std::map<std::string, std::vector<Figure>> samples_;
  std::map<std::string, std::string> errors_;
};

/* Takes --sled_strategy=NAME out of argv; nullptr if absent. */
const char* take_strategy_flag(int* argc, char** argv) {
  static const char kFlag[] = "--sled_strategy=";
  const char* strategy = nullptr;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], kFlag, sizeof kFlag - 1) == 0)
      strategy = argv[i] + sizeof kFlag - 1;
    else
      argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return strategy;
}

}  // namespace

int main(int argc, char** argv) {
  const char* strategy = take_strategy_flag(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (strategy) {
    if (int rc = sled_set_strategy(strategy); rc < 0) {
      std::fprintf(stderr, "sled-bench-call: %s\n", describe("sled_set_strategy", rc).c_str());
      return 1;
    }
  }
  sled_site_info info{};
  if (int rc = sled_site_lookup(ip_of(tiny_traced), &info);
      rc < 0 || info.refusal != SLED_SITE_OK) {
    std::fprintf(stderr, "sled-bench-call: tiny_traced cannot be traced: %s\n",
                 rc < 0 ? describe("sled_site_lookup", rc).c_str() : "site refused");
    return 1;
  }
  for (const Row& row : kRows)
    benchmark::RegisterBenchmark(row.name, row.run)->Unit(benchmark::kNanosecond);

  TableReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Defaults
                                               : benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::fflush(stdout);
#if SLED_BENCH_STATIC
  const char* linkage = "libsled linked in (sled_static: direct calls to the trampoline)";
#else
  const char* linkage = "libsled.so (sites reach the trampoline through a near stub)";
#endif
  std::printf(
      "\nsled-bench-call: strategy %s, %zu sites, %s, compiler %s; time per call,"
      " median when repeated\n",
      sled_get_strategy(), sled_site_count(), linkage, __VERSION__);
  const bool all_ran = reporter.print_table(stdout);
  benchmark::Shutdown();
  return all_ran ? 0 : 1;
}
