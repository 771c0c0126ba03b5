// section_patching.cc — section 3 of sled-bench-dispatch: the wall time of
// one sled_register_ops whose filter selects every function of a generated
// module (1k, 10k, 100k sites) and of its sled_unregister_ops; and the cost
// of moving one ops' filter from one function to another among 100,000.
//
// "Cold" is the first registration in a fresh process (a child), whose
// writes take the copy-on-write faults of text pages never written; "warm"
// repeats it in this process after a first round has touched every page.
// sled's temporary buffers for 100,000 sites are large enough that glibc
// may give them back to the kernel after each call and fault them in again
// the next time, so the 100k module is also measured in a child that keeps
// freed memory (mallopt): the cost without those page faults.
#include <malloc.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "child.h"
#include "gen_modules.h"
#include "sections.h"
#include "strategy.h"
#include "table.h"
#include "timing.h"

namespace bench {
namespace {

void empty_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

struct EnableDisable {
  double enable_ns = 0, disable_ns = 0;
};

std::string cost_cell(double ns, size_t sites) {
  return duration_text(ns) + strf(" (%.0f ns/site)", ns / static_cast<double>(sites));
}

const GenModule& module_at(const char* index) {
  return kGenModules[static_cast<size_t>(std::atoi(index)) % std::size(kGenModules)];
}

// One round: set the filter (untimed: sled forgets an ops' filter when it is
// unregistered, as the caller may free it), register, unregister.
bool timed_round(const GenModule& m, EnableDisable* out) {
  sled_ops ops{};
  ops.func = empty_callback;
  std::string filter = in_module("gen_*", m);
  if (int rc = sled_set_filter(&ops, filter.c_str(), 1); rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error(filter.c_str(), rc).c_str());
    return false;
  }
  uint64_t t0 = now_ns();
  int rc = sled_register_ops(&ops);
  uint64_t t1 = now_ns();
  if (rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error("sled_register_ops", rc).c_str());
    return false;
  }
  rc = sled_unregister_ops(&ops);
  uint64_t t2 = now_ns();
  if (rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error("sled_unregister_ops", rc).c_str());
    return false;
  }
  *out = {static_cast<double>(t1 - t0), static_cast<double>(t2 - t1)};
  return true;
}

// Medians over `reps` rounds after one untimed round.
bool warm_rounds(const GenModule& m, int reps, EnableDisable* out) {
  std::vector<double> enable, disable;
  for (int r = -1; r < reps; r++) {
    EnableDisable round;
    if (!timed_round(m, &round)) return false;
    if (r < 0) continue;
    enable.push_back(round.enable_ns);
    disable.push_back(round.disable_ns);
  }
  *out = {median(enable), median(disable)};
  return true;
}

// Runs `args` in `count` children, each printing "<enable ns> <disable ns>";
// medians.
bool in_children(const std::vector<std::string>& args, int count, EnableDisable* out) {
  std::vector<double> enable, disable;
  for (int r = 0; r < count; r++) {
    std::string text;
    if (!run_self(args, &text)) return false;
    std::istringstream in(text);
    double e = 0, d = 0;
    if (!(in >> e >> d)) {
      std::fprintf(stderr, "sled-bench-dispatch: child printed '%s'\n", text.c_str());
      return false;
    }
    enable.push_back(e);
    disable.push_back(d);
  }
  *out = {median(enable), median(disable)};
  return true;
}

// Median time of moving a registered ops' filter from one function of the
// 100k module to another (sled_set_filter with reset), 15 moves per rep.
std::string filter_change_cell(const Options& o) {
  const GenModule& m = kGenModules[2];
  OpsGroup group;
  if (group.add(in_module("gen_0", m).c_str()) < 0) {
    std::fprintf(stderr, "%s\n", group.error().c_str());
    return "err";
  }
  std::vector<double> samples;
  for (int i = 0; i <= 15 * o.reps; i++) {
    std::string name = in_module(strf("gen_%d", (12345 + 7919 * i) % 100000).c_str(), m);
    uint64_t t0 = now_ns();
    int rc = sled_set_filter(group.at(0), name.c_str(), 1);
    uint64_t t1 = now_ns();
    if (rc < 0) {
      std::fprintf(stderr, "%s\n", sled_error(name.c_str(), rc).c_str());
      return "err";
    }
    if (i > 0) samples.push_back(static_cast<double>(t1 - t0));
  }
  return duration_text(median(samples)) + " per change";
}

void add_rows(Table* t, size_t sites, const std::vector<const char*>& operations,
              const std::vector<std::vector<std::string>>& cells) {
  for (size_t r = 0; r < operations.size(); r++) {
    std::vector<std::string> row{strf("%zu", sites), operations[r]};
    row.insert(row.end(), cells[r].begin(), cells[r].end());
    t->add_row(std::move(row));
  }
}

}  // namespace

void section_enable_disable(const Options& o) {
  Table t(
      "3. Enable / disable all functions of a module: one sled_register_ops / "
      "sled_unregister_ops (per site)",
      {"sites", "operation", kStrategies[0], kStrategies[1], kStrategies[2]});
  for (size_t i = 0; i < std::size(kGenModules); i++) {
    const GenModule& m = kGenModules[i];
    load_gen_module(m);
    std::fprintf(stderr, "section 3: %s\n", m.label);
    std::string index = std::to_string(i);
    auto cells = rows_per_strategy(4, [&](const char* strategy) -> std::vector<std::string> {
      EnableDisable cold, warm;
      if (!in_children({"--child-cold-enable", strategy, index}, o.reps, &cold) ||
          !warm_rounds(m, o.reps, &warm))
        return {"err"};
      return {cost_cell(cold.enable_ns, m.functions), cost_cell(cold.disable_ns, m.functions),
              cost_cell(warm.enable_ns, m.functions), cost_cell(warm.disable_ns, m.functions)};
    });
    add_rows(&t, m.functions,
             {"enable, cold (first write to the pages)", "disable, after the cold enable",
              "enable, warm", "disable, warm"},
             cells);
  }
  std::fprintf(stderr, "section 3: 100k, freed memory kept\n");
  const GenModule& big = kGenModules[2];
  auto kept = rows_per_strategy(2, [&](const char* strategy) -> std::vector<std::string> {
    EnableDisable warm;
    if (!in_children({"--child-warm-keep-heap", strategy, "2", std::to_string(o.reps)}, 1, &warm))
      return {"err"};
    return {cost_cell(warm.enable_ns, big.functions), cost_cell(warm.disable_ns, big.functions)};
  });
  add_rows(&t, big.functions,
           {"enable, warm, malloc keeps freed memory", "disable, warm, malloc keeps freed memory"},
           kept);

  std::fprintf(stderr, "section 3: filter changes\n");
  std::vector<std::string> row{"100000", "sled_set_filter: move one ops to another function"};
  for (std::string& c : cells_per_strategy([&](const char*) { return filter_change_cell(o); }))
    row.push_back(std::move(c));
  t.add_row(std::move(row));
  t.add_note(strf(
      "Filter `gen_*@<module>`, set before each timed sled_register_ops. Cold: median of %d fresh "
      "processes, each loading only that module. Warm: median of %d rounds in one process that "
      "has loaded all three modules (111,000+ sites), after an untimed round. \"malloc keeps "
      "freed memory\": the same in a fresh process with mallopt(M_MMAP_THRESHOLD, 1 GiB) and "
      "mallopt(M_TRIM_THRESHOLD, 1 GiB), so that sled's temporary buffers are not faulted in "
      "again every call. Disable includes the grace period. Filter change: median of %d moves "
      "(`gen_A@libsled-gen-100k.so` -> `gen_B@...`, reset), each live when the call returns.",
      o.reps, o.reps, 15 * o.reps));
  t.print();
}

int child_cold_enable(const char* strategy, const char* module_index) {
  if (int rc = sled_set_strategy(strategy); rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error(strategy, rc).c_str());
    return 1;
  }
  const GenModule& m = module_at(module_index);
  load_gen_module(m);
  EnableDisable cold;
  if (!timed_round(m, &cold)) return 1;
  std::printf("%.0f %.0f\n", cold.enable_ns, cold.disable_ns);
  return 0;
}

int child_warm_keep_heap(const char* strategy, const char* module_index, const char* reps) {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (int rc = sled_set_strategy(strategy); rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error(strategy, rc).c_str());
    return 1;
  }
  const GenModule& m = module_at(module_index);
  load_gen_module(m);
  EnableDisable warm;
  if (!warm_rounds(m, std::max(1, std::atoi(reps)), &warm)) return 1;
  std::printf("%.0f %.0f\n", warm.enable_ns, warm.disable_ns);
  return 0;
}

}  // namespace bench
