// Per-thread state read by the dispatcher on every traced call, and the
// registry of those records that grace periods scan. Records live in
// mmap'd chunks that are never freed (a writer may read a record while its
// thread exits); a record is recycled once its thread is gone.
#pragma once

// Field offsets the trampolines use on their fast path.
#define SLED_THREAD_NEST 0
#define SLED_THREAD_GEN 4
#define SLED_THREAD_ENTRY_SP 8

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
  // The trampoline frame (its struct sled_regs) of the outermost section,
  // stored before nest goes 0 -> 1. A later entry or sled call on this
  // thread whose stack pointer is at or above it, or a frame that no longer
  // names this record, means the section was left by a non-local exit
  // (longjmp, an exception) and is over (section_abandoned).
  std::atomic<uintptr_t> entry_sp{0};
  std::atomic<int> owner{0};     // tid of the thread using it; 0 = free
  ThreadRecord *next = nullptr;  // all records ever made (immutable once linked)
  // Writers only, under the registry lock: gen + 1 of a section a grace
  // period found abandoned (0: none), so later grace periods skip it at once.
  uint32_t abandoned_gen = 0;
};

static_assert(offsetof(ThreadRecord, nest) == SLED_THREAD_NEST);
static_assert(offsetof(ThreadRecord, gen) == SLED_THREAD_GEN);
static_assert(offsetof(ThreadRecord, entry_sp) == SLED_THREAD_ENTRY_SP);
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
// Runs on an exiting thread that has a record, just before the record is
// released (graph ops flush the thread's pending hooked calls there).
void set_thread_exit_hook(void (*hook)());
// Head of the list of every record (for grace periods).
ThreadRecord *thread_records();
// Called once at init: thread-exit hook and fork handling.
void thread_state_init();
// Whether the outermost section recorded in t, the calling thread's record,
// was abandoned by a non-local exit; `sp` is a stack address of the caller
// now (a new trampoline frame, or the frame of a sled call). If so, ends
// the section (gen + 1, nest = 0) and returns true.
bool leave_if_abandoned(ThreadRecord *t, uintptr_t sp);
// Whether another thread's outermost section is over although its nest
// says otherwise: its frame no longer names the record, or the thread
// sits in a system call above that frame on the same stack. Writers only
// (a grace period that has waited a while); false when unsure.
bool section_abandoned_remote(const ThreadRecord *r);

// Whether the calling thread is inside a sled callback now.
__attribute__((noinline)) bool in_sled_callback_slow(ThreadRecord *t);
inline bool in_sled_callback() {
  ThreadRecord *t = sled_thread_record;
  return t && t->nest.load(std::memory_order_relaxed) > 0 && in_sled_callback_slow(t);
}

}  // namespace sled
#endif  // __ASSEMBLER__
