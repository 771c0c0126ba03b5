// peers.h — what sled-bench-peers measures for each tracer on the same
// workload (the tiny function; 100,000 generated functions for patching),
// and the functions that measure sled and LLVM XRay in this process.
#pragma once
#include <cstddef>
#include <string>

namespace peers {

struct CallCost {
  double off = 0;  // ns/call, instrumented but not tracing
  double on = 0;   // ns/call, tracing with an empty handler
};

struct PatchCost {
  size_t functions = 0;
  double first_ns = 0;    // patch all, first time in the process (one sample)
  double later_ns = 0;    // patch all again, after unpatching (median)
  double unpatch_ns = 0;  // unpatch all (median)
  double one_ns = 0;      // patch one function (median)
  // One function among the 100,000 toggled on, then off (medians): sled
  // registers / unregisters an ops that selects it; XRay patches /
  // unpatches its id.
  double toggle_on_ns = 0, toggle_off_ns = 0;
  // The same patch-all figures in the calling thread's CPU time (a busy
  // machine inflates wall times, and not equally for both tracers).
  double first_cpu_ns = 0, later_cpu_ns = 0, unpatch_cpu_ns = 0;
};

struct SledFigures {
  CallCost call;
  PatchCost patch;
  std::string error;  // non-empty: the figures are not valid
};

struct XRayFigures {
  CallCost entry_exit;  // XRay's default: entry and exit sleds
  CallCost entry_only;  // -fxray-instrumentation-bundle=function-entry
  PatchCost patch;
  std::string error;
};

SledFigures measure_sled(int reps, double target_ms);
XRayFigures measure_xray(int reps, double target_ms);

}  // namespace peers
