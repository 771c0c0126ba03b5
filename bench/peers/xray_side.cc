// xray_side.cc — LLVM XRay's figures for sled-bench-peers, in the same
// process as sled's: the tiny function with XRay sleds, unpatched and
// patched with an empty handler (__xray_set_handler), for the default
// entry+exit bundle and an entry-only build; __xray_patch() of the whole
// program (100,000 generated functions, linked in: clang 14's XRay does not
// instrument shared objects), first and later; __xray_patch_function(id).
#include <xray/xray_interface.h>

#include <vector>

#include "peers.h"
#include "table.h"
#include "timing.h"
#include "xray_tiny.h"

namespace peers {
namespace {

void empty_handler(int32_t, XRayEntryType) {}

// Wall time; the call's CPU time in *cpu when given.
template <class Fn>
double timed(Fn&& fn, const char* what, std::string* error, double* cpu = nullptr) {
  uint64_t c0 = bench::thread_cpu_ns(), t0 = bench::now_ns();
  XRayPatchingStatus status = fn();
  uint64_t t1 = bench::now_ns(), c1 = bench::thread_cpu_ns();
  if (status != SUCCESS && error->empty()) *error = bench::strf("%s: status %d", what, status);
  if (cpu) *cpu = static_cast<double>(c1 - c0);
  return static_cast<double>(t1 - t0);
}

}  // namespace

XRayFigures measure_xray(int reps, double target_ms) {
  XRayFigures f;
  constexpr bench::CallLoop all = bench::call_loop<xray_tiny_all>;
  constexpr bench::CallLoop entry = bench::call_loop<xray_tiny_entry>;
  if (__xray_set_handler(empty_handler) != 1) {
    f.error = "__xray_set_handler failed (XRay not initialised?)";
    return f;
  }
  f.patch.functions = __xray_max_function_id();
  f.entry_exit.off = bench::ns_per_call(all, reps, target_ms);
  f.entry_only.off = bench::ns_per_call(entry, reps, target_ms);

  f.patch.first_ns =
      timed([] { return __xray_patch(); }, "__xray_patch", &f.error, &f.patch.first_cpu_ns);
  f.entry_exit.on = bench::ns_per_call(all, reps, target_ms);
  f.entry_only.on = bench::ns_per_call(entry, reps, target_ms);
  std::vector<double> later, unpatch, one, later_cpu, unpatch_cpu;
  double cpu = 0;
  unpatch.push_back(timed([] { return __xray_unpatch(); }, "__xray_unpatch", &f.error, &cpu));
  unpatch_cpu.push_back(cpu);
  for (int r = 0; r < reps && f.error.empty(); r++) {
    later.push_back(timed([] { return __xray_patch(); }, "__xray_patch", &f.error, &cpu));
    later_cpu.push_back(cpu);
    unpatch.push_back(timed([] { return __xray_unpatch(); }, "__xray_unpatch", &f.error, &cpu));
    unpatch_cpu.push_back(cpu);
  }
  f.patch.later_ns = bench::median(later);
  f.patch.unpatch_ns = bench::median(unpatch);
  f.patch.later_cpu_ns = bench::median(later_cpu);
  f.patch.unpatch_cpu_ns = bench::median(unpatch_cpu);

  for (int i = 1; i <= 15 * reps && f.error.empty(); i++) {
    auto id = static_cast<int32_t>(1 + (12345 + 7919 * static_cast<size_t>(i)) % f.patch.functions);
    one.push_back(
        timed([&] { return __xray_patch_function(id); }, "__xray_patch_function", &f.error));
    __xray_unpatch_function(id);
  }
  f.patch.one_ns = bench::median(one);
  std::vector<double> on, off;
  for (int i = 1; i <= 15 * reps && f.error.empty(); i++) {
    auto id = static_cast<int32_t>(1 + (54321 + 7919 * static_cast<size_t>(i)) % f.patch.functions);
    on.push_back(
        timed([&] { return __xray_patch_function(id); }, "__xray_patch_function", &f.error));
    off.push_back(
        timed([&] { return __xray_unpatch_function(id); }, "__xray_unpatch_function", &f.error));
  }
  f.patch.toggle_on_ns = bench::median(on);
  f.patch.toggle_off_ns = bench::median(off);
  __xray_remove_handler();
  return f;
}

}  // namespace peers
