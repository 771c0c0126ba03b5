// xray_fdr_side.cc — LLVM XRay's flight data recorder mode (FDR) for
// sled-bench-peers' recorded calls: the tiny function with entry and exit
// sleds (xray_tiny_all), each call written by FDR as two 8-byte function
// records into its in-memory buffers (no_file_flush: nothing goes to disk).
// func_duration_threshold_us=0: by default FDR erases the records of calls
// shorter than 5 µs (the tiny function's), which would time a tracer that
// keeps nothing. The pool is sized from the calibrated call count so that
// no record is overwritten, and the records are counted after finalising:
// the figure stands only if there are two per call. Owns the FDR sessions;
// must run after measure_xray (which leaves the handler removed).
#include <xray/xray_interface.h>
#include <xray/xray_log_interface.h>

#include <thread>

#include "recorded.h"
#include "table.h"
#include "xray_tiny.h"

namespace peers {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

struct Records {
  uint64_t function = 0, metadata = 0, bytes = 0;
};
Records g_records;  // filled by count_records, during one process_buffers

// FDR's buffers hold 16-byte metadata records (low bit of the first byte
// set) and 8-byte function records (low bit clear).
void count_records(const char*, XRayBuffer buffer) {
  const auto* p = static_cast<const unsigned char*>(buffer.Data);
  const auto* end = p + buffer.Size;
  g_records.bytes += buffer.Size;
  while (p < end) {
    if (*p & 1) {
      g_records.metadata++;
      p += 16;
    } else {
      g_records.function++;
      p += 8;
    }
  }
}

// One FDR session with a pool of `buffers` MiB: init, patch, run() on a
// new thread, unpatch, finalize, count the records, flush (no file
// written). Returns an error text, or "" with *out set. A new thread: one
// that recorded in an earlier session keeps stale per-thread FDR state
// (clang 14: its records in the next session came out lost or doubled,
// thousands per run); fresh threads give exactly two per call.
template <class Run>
std::string fdr_session(size_t buffers, Run&& run, Records* out) {
  std::string config =
      bench::strf("buffer_size=%zu:buffer_max=%zu:no_file_flush=true:func_duration_threshold_us=0",
                  kBufferBytes, buffers);
  if (XRayLogInitStatus s = __xray_log_init_mode("xray-fdr", config.c_str());
      s != XRAY_LOG_INITIALIZED)
    return bench::strf("__xray_log_init_mode(xray-fdr, %s): status %d", config.c_str(), s);
  if (XRayPatchingStatus s = __xray_patch(); s != SUCCESS) {
    __xray_log_finalize();
    __xray_log_flushLog();
    return bench::strf("__xray_patch: status %d", s);
  }
  std::thread(run).join();
  __xray_unpatch();
  if (XRayLogInitStatus s = __xray_log_finalize(); s != XRAY_LOG_FINALIZED)
    return bench::strf("__xray_log_finalize: status %d", s);
  g_records = {};
  XRayLogFlushStatus processed = __xray_log_process_buffers(count_records);
  XRayLogFlushStatus flushed = __xray_log_flushLog();
  if (processed != XRAY_LOG_FLUSHED || flushed != XRAY_LOG_FLUSHED)
    return bench::strf("__xray_log_process_buffers / flushLog: status %d / %d", processed, flushed);
  *out = g_records;
  return "";
}

}  // namespace

RecordedCost measure_xray_fdr(int reps, double target_ms, bool ring) {
  RecordedCost cost;
  if (XRayLogRegisterStatus s = __xray_log_select_mode("xray-fdr"); s != XRAY_REGISTRATION_OK) {
    cost.error = bench::strf(
        "__xray_log_select_mode(xray-fdr): status %d (link with "
        "-fxray-modes=xray-fdr)",
        s);
    return cost;
  }
  constexpr bench::CallLoop loop = counted_loop<xray_tiny_all>;
  // Calibration, in a session of its own (its pool may wrap: not counted).
  uint64_t n = 0;
  Records records;
  cost.error = fdr_session(
      64, [&] { n = bench::calls_for(loop, target_ms); }, &records);
  if (!cost.error.empty()) return cost;
  size_t buffers;
  uint64_t warm_calls = 0;
  if (ring) {
    // 16 MiB, like sled's rings (8 MiB per thread); each thread's warm-up
    // writes 1.25 times the pool, so every page is touched before timing.
    buffers = 16;
    warm_calls = buffers * kBufferBytes / 16 * 5 / 4;
  } else {
    // Two records per call, plus a buffer left part-used by every thread
    // and metadata, with a margin.
    uint64_t expected_calls = recorded_calls_for(n, reps, 0);
    buffers = static_cast<size_t>(expected_calls * 16 * 11 / 10 / kBufferBytes) +
              2 * static_cast<size_t>(reps) + 8;
  }
  g_counted_calls.store(0, std::memory_order_relaxed);
  cost.error = fdr_session(
      buffers, [&] { time_recorded(loop, n, reps, warm_calls, &cost); }, &records);
  if (!cost.error.empty()) return cost;
  cost.calls = g_counted_calls.load(std::memory_order_relaxed);
  cost.events = records.function;
  cost.ring = ring;
  if (!ring) {
    cost.lost = 2 * cost.calls > records.function ? 2 * cost.calls - records.function : 0;
    cost.bytes_per_call = cost.calls ? static_cast<double>(records.bytes) / cost.calls : 0;
  }
  return cost;
}

}  // namespace peers
