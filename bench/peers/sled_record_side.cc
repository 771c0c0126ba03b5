// sled_record_side.cc — sled's recorded calls for sled-bench-peers: the
// `function` tracer (one entry event per call) and the `function_graph`
// tracer (entry and exit events) on the tiny function, through the public
// tracer API (sled/trace.h): a session recording into a temporary trace
// directory (in /dev/shm when there is one: the drain writes to memory, not
// to a disk other people share), the tracer filtered to the tiny function,
// the timed loops, then stop and close. The figure stands with the events
// the session counts for the timed calls, and the events it lost. Owns the
// session and its directory, nothing else.
#include <sled/trace.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "recorded.h"
#include "strategy.h"
#include "table.h"
#include "tiny_fn.h"

namespace peers {
namespace {

// Per thread: the two-thread samples run three threads writing (with the
// drain) on a machine that may have two CPUs; 8 MiB holds ~0.3 s of events.
constexpr size_t kBufferBytes = size_t{8} << 20;

std::string trace_error(const char* what, int rc) {
  return bench::strf("%s: %d (%s)", what, rc, sled_trace_last_error());
}

// A fresh directory for the trace; "" on failure.
std::string make_temp_dir() {
  std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string pattern = base + "/sled-bench-peers-XXXXXX";
  return mkdtemp(pattern.data()) ? pattern : "";
}

// The figures, with the session open and the tracer running.
void measure_running(int reps, double target_ms, RecordedCost* cost, uint64_t* all_calls) {
  std::string why;
  if (!bench::site_state_is(dispatch_tiny_traced, 1, &why)) {
    cost->error = why;
    return;
  }
  constexpr bench::CallLoop loop = counted_loop<dispatch_tiny_traced>;
  g_counted_calls.store(0, std::memory_order_relaxed);
  uint64_t n = bench::calls_for(loop, target_ms);
  // Warm-up (time_recorded): a third of the buffer in calls writes it
  // through at least once (every event is 3 bytes or more).
  uint64_t warm_calls = kBufferBytes / 3;
  uint64_t calibration = g_counted_calls.exchange(0, std::memory_order_relaxed);
  sled_trace_stats before{}, after{};
  if (int rc = sled_trace_get_stats(&before); rc < 0) {
    cost->error = trace_error("sled_trace_get_stats", rc);
    return;
  }
  time_recorded(loop, n, reps, warm_calls, cost);
  if (int rc = sled_trace_get_stats(&after); rc < 0) {
    cost->error = trace_error("sled_trace_get_stats", rc);
    return;
  }
  cost->calls = g_counted_calls.load(std::memory_order_relaxed);
  cost->events = after.events - before.events;
  cost->lost = after.lost - before.lost;
  *all_calls = calibration + cost->calls;
}

}  // namespace

RecordedCost measure_sled_recorded(const char* tracer, const char* mode, int reps,
                                   double target_ms) {
  RecordedCost cost;
  std::string dir = make_temp_dir();
  if (dir.empty()) {
    cost.error = "mkdtemp failed";
    return cost;
  }
  std::string options =
      bench::strf("dir=%s/trace buffer=%zu mode=%s", dir.c_str(), kBufferBytes, mode);
  uint64_t all_calls = 0;
  if (int rc = sled_trace_open(options.c_str()); rc < 0) {
    cost.error = trace_error("sled_trace_open", rc);
  } else {
    if (int rc = sled_tracer_start(tracer, "filter=dispatch_tiny_traced"); rc < 0) {
      cost.error = trace_error("sled_tracer_start", rc);
    } else {
      measure_running(reps, target_ms, &cost, &all_calls);
      if (int rc = sled_tracer_stop(tracer); rc < 0 && cost.error.empty())
        cost.error = trace_error("sled_tracer_stop", rc);
    }
    if (int rc = sled_trace_close(); rc < 0 && cost.error.empty())
      cost.error = trace_error("sled_trace_close", rc);
    sled_trace_stats total{};
    // In drop mode every event recorded reaches the trace: bytes per call.
    if (sled_trace_get_stats(&total) == 0 && all_calls && std::string(mode) == "drop" &&
        total.lost == 0)
      cost.bytes_per_call = static_cast<double>(total.bytes_written) / all_calls;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return cost;
}

}  // namespace peers
