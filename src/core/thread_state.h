// Per-thread state read by the dispatcher on every traced call, and the
// registry of those records that grace periods scan. Records live in
// mmap'd chunks that are never freed (a writer may read a record while its
// thread exits); a record is recycled once its thread is gone.
#pragma once

// Field offsets the trampolines use on their fast path.
#define SLED_THREAD_NEST 0
#define SLED_THREAD_GEN 4

#ifndef __ASSEMBLER__
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sled {

struct alignas(64) ThreadRecord {
  // > 0 while the thread runs sled's dispatcher (nesting depth). Written by
  // its thread only; a signal handler that nests restores it before return.
  std::atomic<uint32_t> nest{0};
  // Bumped each time the thread leaves its outermost dispatcher section, so
  // a grace period can tell "left and came back" from "still inside".
  std::atomic<uint32_t> gen{0};
  std::atomic<int> owner{0};     // tid of the thread using it; 0 = free
  ThreadRecord *next = nullptr;  // all records ever made (immutable once linked)
};

static_assert(offsetof(ThreadRecord, nest) == SLED_THREAD_NEST);
static_assert(offsetof(ThreadRecord, gen) == SLED_THREAD_GEN);
static_assert(sizeof(std::atomic<uint32_t>) == 4);

}  // namespace sled

// The calling thread's record, or null before its first traced call. C
// linkage and __thread (no dynamic initialiser, no TLS wrapper call) so the
// trampolines reach it with one %fs-relative load (initial-exec model).
extern "C"
    __attribute__((visibility("hidden"),
                   tls_model("initial-exec"))) __thread sled::ThreadRecord *sled_thread_record;

namespace sled {

// Slow path of the first traced call on a thread: claims a record.
// Async-signal-safe (mmap + CAS). Returns null only if mmap fails.
ThreadRecord *thread_record_claim();
// Head of the list of every record (for grace periods).
ThreadRecord *thread_records();
// Called once at init: thread-exit hook and fork handling.
void thread_state_init();
// Whether the calling thread is inside a sled callback now.
inline bool in_sled_callback() {
  ThreadRecord *t = sled_thread_record;
  return t && t->nest.load(std::memory_order_relaxed) > 0;
}

}  // namespace sled
#endif  // __ASSEMBLER__
