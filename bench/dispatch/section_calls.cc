// section_calls.cc — sections 1, 2 and 5 of sled-bench-dispatch: what one
// call of the traced tiny function costs under each strategy, with K ops on
// other functions, with M ops on this one, and from two threads at once.
// The ops of a row are registered once; the strategies are then switched
// live, round after round (sample_interleaved), and before every sample the
// site is checked to be in the state claimed. The uninstrumented baseline
// is sampled in every round too, and so is the F2 floor (bench/floors.S:
// a stub that saves the argument registers and calls an empty C handler)
// where it exists: each overhead is also printed as a multiple of F2's.
#include <algorithm>
#include <string>
#include <vector>

#include "gen_modules.h"
#include "sections.h"
#include "strategy.h"
#include "table.h"
#include "timing.h"
#include "tiny_fn.h"
#if SLED_BENCH_FLOORS
#include "floors.h"
#endif

namespace bench {
namespace {

constexpr CallLoop kTracedLoop = call_loop<dispatch_tiny_traced>;
constexpr CallLoop kPlainLoop = call_loop<dispatch_tiny_plain>;
#if SLED_BENCH_FLOORS
constexpr CallLoop kFloorLoop = call_loop<floor_save_call>;
#else
constexpr CallLoop kFloorLoop = nullptr;
#endif
const GenModule& kOthersModule = kGenModules[1];  // 10,000 functions: room for K = 1000

// Registers `others` ops, one per function gen_0.. of the 10k module, then
// `tracers` ops on the tiny function; the ops stay in *group.
bool set_up(OpsGroup* group, unsigned tracers, unsigned others, std::string* why) {
  for (unsigned i = 0; i < others; i++) {
    if (group->add(in_module(strf("gen_%u", i).c_str(), kOthersModule).c_str()) < 0) {
      *why = group->error();
      return false;
    }
  }
  for (unsigned i = 0; i < tracers; i++) {
    if (group->add("dispatch_tiny_traced") < 0) {
      *why = group->error();
      return false;
    }
  }
  return true;
}

struct CallRow {
  double plain = 0;                 // uninstrumented, 1 thread: median
  double plain_two = 0;             // uninstrumented, 2 threads: median
  double floor = 0;                 // F2 floor, 1 thread: median (0: none)
  std::vector<StrategySeries> per;  // per strategy: [0] 1 thread, [1] 2 threads
  std::vector<double> parallel;     // every 2-thread sample: see two_thread_sample
};

// Sets up the ops and samples every strategy, interleaved, o.reps rounds.
// With two_threads, each round also takes a 2-thread sample of each.
bool measure_row(const Options& o, unsigned tracers, unsigned others, bool two_threads,
                 CallRow* row) {
  OpsGroup group;
  std::string why;
  if (!set_up(&group, tracers, others, &why)) {
    std::fprintf(stderr, "sled-bench-dispatch: %s\n", why.c_str());
    return false;
  }
  uint64_t plain_calls = calls_for(kPlainLoop, o.target_ms);
  uint64_t floor_calls = kFloorLoop ? calls_for(kFloorLoop, o.target_ms) : 0;
  std::vector<uint64_t> calls(std::size(kStrategies), 0);
  std::vector<double> plain, plain_two, floor;
  InterleavedHooks hooks;
  hooks.round_start = [&] {
    plain.push_back(one_thread_sample(kPlainLoop, plain_calls));
    if (kFloorLoop) floor.push_back(one_thread_sample(kFloorLoop, floor_calls));
    double parallel = 0;
    if (two_threads) plain_two.push_back(two_thread_sample(kPlainLoop, plain_calls, &parallel));
    if (two_threads) row->parallel.push_back(parallel);
  };
  hooks.check = [&](std::string* why) { return site_state_is(dispatch_tiny_traced, tracers, why); };
  hooks.sample = [&](size_t i) {
    if (calls[i] == 0) calls[i] = calls_for(kTracedLoop, o.target_ms);
    std::vector<double> sample{one_thread_sample(kTracedLoop, calls[i])};
    double parallel = 0;
    if (two_threads) sample.push_back(two_thread_sample(kTracedLoop, calls[i], &parallel));
    if (two_threads) row->parallel.push_back(parallel);
    return sample;
  };
  row->per = sample_interleaved(o.reps, hooks);
  row->plain = median(plain);
  row->plain_two = median(plain_two);
  row->floor = floor.empty() ? 0 : median(floor);
  return true;
}

// "4.99 (+3.15)": median ns/call and its overhead over the baseline;
// "4.99 (+3.15, 1.22x F2)" with the floor's overhead measured in the row.
std::vector<std::string> call_cells(const CallRow& row) {
  const double floor_overhead = row.floor - row.plain;
  std::vector<std::string> cells;
  for (const StrategySeries& s : row.per) {
    if (!s.status.empty()) {
      cells.push_back(s.status);
      continue;
    }
    double ns = median(s.series[0]);
    if (row.floor > 0 && floor_overhead > 0)
      cells.push_back(
          strf("%.2f (+%.2f, %.2fx F2)", ns, ns - row.plain, (ns - row.plain) / floor_overhead));
    else
      cells.push_back(strf("%.2f (+%.2f)", ns, ns - row.plain));
  }
  return cells;
}

std::vector<std::string> strategy_header(const char* first) {
  std::vector<std::string> header{first};
  for (const char* s : kStrategies) header.push_back(s);
  return header;
}

// One table row per count: `tracers` ops on tiny() and `others` elsewhere.
void call_table(const Options& o, Table* t, const char* what,
                const std::vector<std::pair<unsigned, unsigned>>& tracers_others, bool by_others) {
  std::vector<double> baselines, floors;
  for (auto [tracers, others] : tracers_others) {
    unsigned count = by_others ? others : tracers;
    std::fprintf(stderr, "%s = %u\n", what, count);
    CallRow row;
    std::vector<std::string> cells{strf("%u", count)};
    if (measure_row(o, tracers, others, false, &row)) {
      for (std::string& c : call_cells(row)) cells.push_back(std::move(c));
      baselines.push_back(row.plain);
      if (row.floor > 0) floors.push_back(row.floor - row.plain);
    } else {
      cells.insert(cells.end(), std::size(kStrategies), "err");
    }
    t->add_row(std::move(cells));
  }
  std::sort(baselines.begin(), baselines.end());
  if (!baselines.empty())
    t->add_note(
        strf("Uninstrumented tiny(), sampled in every round: %.2f–%.2f ns/call (row "
             "medians); the overhead in brackets is over the row's own baseline.",
             baselines.front(), baselines.back()));
  std::sort(floors.begin(), floors.end());
  if (!floors.empty())
    t->add_note(
        strf("F2 floor (bench/floors.S: a stub that saves the argument registers and "
             "calls an empty C handler), sampled in every round: +%.2f–+%.2f ns/call "
             "over the baseline (row medians); \"x F2\" is the overhead over the "
             "row's own floor.",
             floors.front(), floors.back()));
}

}  // namespace

void section_other_ops(const Options& o) {
  load_gen_module(kOthersModule);
  Table t("1. One ops on tiny(), K ops on other functions: ns/call (+ overhead)",
          strategy_header("K other ops"));
  call_table(o, &t, "section 1: K", {{1, 0}, {1, 1}, {1, 2}, {1, 10}, {1, 100}, {1, 1000}}, true);
  t.add_note(
      strf("Each other ops filters one distinct function of %s. Instrumented tiny() with "
           "no ops: %.2f ns/call.",
           module_file_name(kOthersModule).c_str(), ns_per_call(kTracedLoop, o.reps, o.target_ms)));
  t.print();
}

void section_shared_function(const Options& o) {
  Table t("2. M ops all tracing tiny(): ns/call (+ overhead)", strategy_header("M ops"));
  call_table(o, &t, "section 2: M", {{1, 0}, {2, 0}, {10, 0}, {100, 0}}, false);
  t.add_note("Every ops has an empty callback and filters tiny() alone.");
  t.print();
}

void section_two_threads(const Options& o) {
  std::fprintf(stderr, "section 5: two threads\n");
  std::vector<std::string> header = strategy_header("one ops on tiny()");
  header.insert(header.begin() + 1, "uninstrumented");
  Table t("5. Two threads calling tiny() at once", header);
  CallRow row;
  bool ok = measure_row(o, 1, 0, true, &row);
  const char* labels[] = {"1 thread: ns/call", "2 threads: ns/call per thread",
                          "overhead, 1 thread (ns)", "overhead, 2 threads (ns)",
                          "overhead ratio 2 threads / 1 thread"};
  std::vector<std::vector<std::string>> rows;
  for (const char* label : labels) rows.push_back({label});
  rows[0].push_back(strf("%.2f", row.plain));
  rows[1].push_back(strf("%.2f", row.plain_two));
  for (int i = 2; i < 5; i++) rows[i].push_back("—");
  for (size_t i = 0; i < std::size(kStrategies); i++) {
    const StrategySeries* s = ok ? &row.per[i] : nullptr;
    if (!s || !s->status.empty()) {
      for (auto& r : rows) r.push_back(s ? s->status : "err");
      continue;
    }
    double one = median(s->series[0]), two = median(s->series[1]);
    double over1 = one - row.plain, over2 = two - row.plain_two;
    rows[0].push_back(strf("%.2f", one));
    rows[1].push_back(strf("%.2f", two));
    rows[2].push_back(strf("%.2f", over1));
    rows[3].push_back(strf("%.2f", over2));
    rows[4].push_back(over1 > 0 ? strf("%.2f", over2 / over1) : "—");
  }
  for (auto& r : rows) t.add_row(std::move(r));
  std::sort(row.parallel.begin(), row.parallel.end());
  double least_parallel = row.parallel.empty() ? 0 : row.parallel.front();
  t.add_note(strf(
      "Both threads run the same calibrated loop after a warm-up and start together; a sample is "
      "the mean of the two threads, the cell the median over rounds. Times are thread CPU time. "
      "The two loops ran at the same time for %.0f%% (median; least %.0f%%) of their wall time "
      "(CPU time of both / twice the wall time): below 100%%, they partly took turns on a busy "
      "machine, and interference between them is partly hidden.",
      100 * median(row.parallel), 100 * least_parallel));
  t.print();
}

}  // namespace bench
