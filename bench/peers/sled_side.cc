// sled_side.cc — sled's figures for sled-bench-peers: the traced tiny
// function with one empty-callback ops (callops), and patch-all of the
// 100,000 functions of libsled-gen-100k.so: one sled_register_ops whose
// filter selects them all, first in this process then again; one function:
// moving a registered ops' filter from one function to another; one
// function toggled: registering, then unregistering, an ops selecting it.
#include <sled/sled.h>

#include <vector>

#include "gen_modules.h"
#include "peers.h"
#include "strategy.h"
#include "table.h"
#include "timing.h"
#include "tiny_fn.h"

namespace peers {
namespace {

void empty_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

// Times one call (wall time; its CPU time in *cpu when given); *error set
// on failure.
template <class Fn>
double timed(Fn&& fn, const char* what, std::string* error, double* cpu = nullptr) {
  uint64_t c0 = bench::thread_cpu_ns(), t0 = bench::now_ns();
  int rc = fn();
  uint64_t t1 = bench::now_ns(), c1 = bench::thread_cpu_ns();
  if (rc < 0 && error->empty()) *error = bench::sled_error(what, rc);
  if (cpu) *cpu = static_cast<double>(c1 - c0);
  return static_cast<double>(t1 - t0);
}

PatchCost patch_all(int reps, std::string* error) {
  const bench::GenModule& m = bench::kGenModules[2];
  bench::load_gen_module(m);
  PatchCost cost;
  cost.functions = m.functions;
  sled_ops ops{};
  ops.func = empty_callback;
  std::string all = bench::in_module("gen_*", m);
  // sled forgets an ops' filter when it is unregistered: set it every time.
  auto disable = [&] { return sled_unregister_ops(&ops); };
  if (int rc = sled_set_filter(&ops, all.c_str(), 1); rc < 0) {
    *error = bench::sled_error(all.c_str(), rc);
    return cost;
  }
  cost.first_ns = timed([&] { return sled_register_ops(&ops); }, "sled_register_ops", error,
                        &cost.first_cpu_ns);
  std::vector<double> later, unpatch, one, later_cpu, unpatch_cpu;
  double cpu = 0;
  unpatch.push_back(timed(disable, "sled_unregister_ops", error, &cpu));
  unpatch_cpu.push_back(cpu);
  for (int r = 0; r < reps && error->empty(); r++) {
    if (int rc = sled_set_filter(&ops, all.c_str(), 1); rc < 0) {
      *error = bench::sled_error(all.c_str(), rc);
      return cost;
    }
    later.push_back(
        timed([&] { return sled_register_ops(&ops); }, "sled_register_ops", error, &cpu));
    later_cpu.push_back(cpu);
    unpatch.push_back(timed(disable, "sled_unregister_ops", error, &cpu));
    unpatch_cpu.push_back(cpu);
  }
  cost.later_ns = bench::median(later);
  cost.unpatch_ns = bench::median(unpatch);
  cost.later_cpu_ns = bench::median(later_cpu);
  cost.unpatch_cpu_ns = bench::median(unpatch_cpu);

  bench::OpsGroup group;
  if (group.add(bench::in_module("gen_0", m).c_str()) < 0) {
    *error = group.error();
    return cost;
  }
  for (int i = 1; i <= 15 * reps && error->empty(); i++) {
    std::string name =
        bench::in_module(bench::strf("gen_%d", (12345 + 7919 * i) % 100000).c_str(), m);
    one.push_back(timed([&] { return sled_set_filter(group.at(0), name.c_str(), 1); },
                        "sled_set_filter", error));
  }
  cost.one_ns = bench::median(one);

  // One function toggled on and off: an ops selecting only it.
  std::vector<double> on, off;
  sled_ops single{};
  single.func = empty_callback;
  for (int i = 1; i <= 15 * reps && error->empty(); i++) {
    std::string name =
        bench::in_module(bench::strf("gen_%d", (54321 + 7919 * i) % 100000).c_str(), m);
    if (int rc = sled_set_filter(&single, name.c_str(), 1); rc < 0) {
      *error = bench::sled_error(name.c_str(), rc);
      return cost;
    }
    on.push_back(timed([&] { return sled_register_ops(&single); }, "sled_register_ops", error));
    off.push_back(
        timed([&] { return sled_unregister_ops(&single); }, "sled_unregister_ops", error));
  }
  cost.toggle_on_ns = bench::median(on);
  cost.toggle_off_ns = bench::median(off);
  return cost;
}

}  // namespace

SledFigures measure_sled(int reps, double target_ms) {
  SledFigures f;
  if (int rc = sled_set_strategy("callops"); rc < 0) {
    f.error = bench::sled_error("sled_set_strategy", rc);
    return f;
  }
  constexpr bench::CallLoop traced = bench::call_loop<dispatch_tiny_traced>;
  f.call.off = bench::ns_per_call(traced, reps, target_ms);
  {
    bench::OpsGroup group;
    std::string why;
    if (group.add("dispatch_tiny_traced") < 0) {
      f.error = group.error();
      return f;
    }
    if (!bench::site_state_is(dispatch_tiny_traced, 1, &why)) {
      f.error = why;
      return f;
    }
    f.call.on = bench::ns_per_call(traced, reps, target_ms);
  }
  f.patch = patch_all(reps, &f.error);
  return f;
}

}  // namespace peers
