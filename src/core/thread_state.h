// Per-thread state read by the dispatcher on every traced call, and the
// registry of those records that grace periods scan. Records live in
// mmap'd chunks that are never freed (a writer may read a record while its
// thread exits); a record is recycled once its thread is gone.
#pragma once
#include <atomic>
#include <cstdint>

namespace sled {

struct alignas(64) ThreadRecord {
  // > 0 while the thread runs sled's dispatcher (nesting depth). Written by
  // its thread only; a signal handler that nests restores it before return.
  std::atomic<uint32_t> nest{0};
  // Bumped each time the thread leaves its outermost dispatcher section, so
  // a grace period can tell "left and came back" from "still inside".
  std::atomic<uint32_t> gen{0};
  std::atomic<int> owner{0};  // tid of the thread using it; 0 = free
  ThreadRecord *next = nullptr;  // all records ever made (immutable once linked)
};

extern thread_local ThreadRecord *t_thread_record __attribute__((tls_model("initial-exec")));

// Slow path of the first traced call on a thread: claims a record.
// Async-signal-safe (mmap + CAS). Returns null only if mmap fails.
ThreadRecord *thread_record_claim();
// Head of the list of every record (for grace periods).
ThreadRecord *thread_records();
// Called once at init: thread-exit hook and fork handling.
void thread_state_init();
// Whether the calling thread is inside a sled callback now.
inline bool in_sled_callback() {
  ThreadRecord *t = t_thread_record;
  return t && t->nest.load(std::memory_order_relaxed) > 0;
}

}  // namespace sled
