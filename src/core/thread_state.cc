// Thread records: claim on first traced call, release at thread exit,
// reset in the child after fork (only the forking thread survives there);
// and telling a section abandoned by a non-local exit (longjmp, an
// exception through the trampoline) from a live one, by the thread itself
// and by a grace period that waits for it. Never writes another thread's
// nest or gen.
#include "core/thread_state.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "arch/frame.h"

__thread sled::ThreadRecord *sled_thread_record = nullptr;

namespace sled {

namespace {

// Every record ever made, newest first. Pushed with release so that a
// reader that acquires the head sees each record's fields initialised.
std::atomic<ThreadRecord *> g_records{nullptr};
pthread_key_t g_exit_key;
std::atomic<bool> g_key_ready{false};

constexpr size_t kChunkBytes = 16384;

int current_tid() { return static_cast<int>(syscall(SYS_gettid)); }

ThreadRecord *claim_free(int tid) {
  for (ThreadRecord *r = g_records.load(std::memory_order_acquire); r; r = r->next) {
    int expected = 0;
    // acq_rel: we take over a record whose previous owner released it.
    if (r->owner.load(std::memory_order_relaxed) == 0 &&
        r->owner.compare_exchange_strong(expected, tid, std::memory_order_acq_rel))
      return r;
  }
  return nullptr;
}

ThreadRecord *make_chunk(int tid) {
  void *mem =
      mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  auto *recs = static_cast<ThreadRecord *>(mem);
  size_t n = kChunkBytes / sizeof(ThreadRecord);
  for (size_t i = 0; i < n; i++) new (&recs[i]) ThreadRecord();
  recs[0].owner.store(tid, std::memory_order_relaxed);
  for (size_t i = 0; i < n; i++) {
    ThreadRecord *head = g_records.load(std::memory_order_relaxed);
    do {
      recs[i].next = head;
    } while (!g_records.compare_exchange_weak(head, &recs[i], std::memory_order_release,
                                              std::memory_order_relaxed));
  }
  return &recs[0];
}

std::atomic<void (*)()> g_exit_hook{nullptr};

void release_on_exit(void *rec) {
  auto *r = static_cast<ThreadRecord *>(rec);
  // Acquire: pairs with set_thread_exit_hook's release (the hook's state).
  if (auto hook = g_exit_hook.load(std::memory_order_acquire); hook && sled_thread_record == r)
    hook();
  if (sled_thread_record == r) sled_thread_record = nullptr;
  r->nest.store(0, std::memory_order_relaxed);  // exited from inside a callback
  r->entry_sp.store(0, std::memory_order_relaxed);
  // A new gen: a grace period's verdict on this thread's last section
  // (ThreadRecord::abandoned_gen) must not apply to the next owner's.
  r->gen.store(r->gen.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Release: a later claimer sees nest == 0 written by this thread.
  r->owner.store(0, std::memory_order_release);
}

void after_fork_in_child() {
  ThreadRecord *self = sled_thread_record;
  for (ThreadRecord *r = g_records.load(std::memory_order_relaxed); r; r = r->next) {
    if (r == self) {
      r->owner.store(current_tid(), std::memory_order_relaxed);
      continue;
    }
    // Its thread does not exist here; it may have been mid-callback.
    r->nest.store(0, std::memory_order_relaxed);
    r->entry_sp.store(0, std::memory_order_relaxed);
    r->gen.store(r->gen.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    r->owner.store(0, std::memory_order_relaxed);
  }
}

// Farther apart than this, two addresses are not on one thread stack.
constexpr uintptr_t kMaxStackSpan = uintptr_t{256} << 20;
// A stack pointer this far at most above an abandoned frame is taken as the
// same stack, the frame popped: a default thread stack's size. Farther up
// may be an alternate signal stack that sigaltstack no longer reports
// (SS_AUTODISARM): the section is then left for later, never ended early.
constexpr uintptr_t kMaxPoppedDistance = uintptr_t{8} << 20;

bool on_alternate_signal_stack() {
  stack_t ss;
  return sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) != 0;
}

// The record the trampoline kept in the frame at `frame` (struct
// sled_regs::thread). The calling thread's own stack, above its stack
// pointer; it may lie in a live frame's ASan redzone, hence uninstrumented.
__attribute__((no_sanitize("address", "thread"))) uintptr_t frame_record(uintptr_t frame) {
  return *reinterpret_cast<const volatile uintptr_t *>(frame + offsetof(sled_regs, thread));
}

}  // namespace

void set_thread_exit_hook(void (*hook)()) { g_exit_hook.store(hook, std::memory_order_release); }

bool leave_if_abandoned(ThreadRecord *t, uintptr_t sp) {
  uintptr_t frame = t->entry_sp.load(std::memory_order_relaxed);
  if (frame == 0) return false;
  bool gone;
  if (sp >= frame)
    // The frame is popped, unless a signal handler runs on an alternate
    // stack (which may sit anywhere) while the section lives below.
    gone = sp - frame <= kMaxPoppedDistance && !on_alternate_signal_stack();
  else if (frame - sp > kMaxStackSpan)
    // Not one stack (a fiber's, say): the frame may not even be mapped.
    gone = false;
  else
    // Live frames lie between sp and the recorded one: it is intact unless
    // the section was left and the stack reused since.
    gone = frame_record(frame) != reinterpret_cast<uintptr_t>(t);
  if (!gone) return false;
  // As at a normal exit: release, so a grace period that sees the change
  // knows the section's reads are done (they were, long ago).
  t->gen.store(t->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  t->entry_sp.store(0, std::memory_order_relaxed);  // ordered by the release below
  t->nest.store(0, std::memory_order_release);
  return true;
}

bool in_sled_callback_slow(ThreadRecord *t) {
  return !leave_if_abandoned(t, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));
}

bool section_abandoned_remote(const ThreadRecord *r) {
  // Acquire: pairs with the release that published entry_sp after the
  // frame's thread slot (trampolines, sled_dispatch): the slot read below
  // is the one that frame was given.
  uintptr_t frame = r->entry_sp.load(std::memory_order_acquire);
  int tid = r->owner.load(std::memory_order_acquire);
  if (frame == 0 || tid == 0) return false;
  // The frame through the kernel: another thread's stack may be unmapped.
  uintptr_t slot = 0;
  iovec local{&slot, sizeof slot};
  iovec remote{reinterpret_cast<void *>(frame + offsetof(sled_regs, thread)), sizeof slot};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (n < 0 && errno == EFAULT) return true;  // no such frame any more
  // A thread blocked in a system call above an intact frame is not taken
  // as proof: a handler on an alternate stack that lies above the frame in
  // the same mapping would look the same while the section lives. Such a
  // thread is noticed at its next traced or sled call (or its exit).
  return n == static_cast<ssize_t>(sizeof slot) && slot != reinterpret_cast<uintptr_t>(r);
}

ThreadRecord *thread_record_claim() {
  int tid = current_tid();
  ThreadRecord *r = claim_free(tid);
  if (!r) r = make_chunk(tid);
  if (!r) return nullptr;
  sled_thread_record = r;
  if (g_key_ready.load(std::memory_order_acquire)) pthread_setspecific(g_exit_key, r);
  return r;
}

ThreadRecord *thread_records() { return g_records.load(std::memory_order_acquire); }

void thread_state_init() {
  static bool done = [] {
    if (pthread_key_create(&g_exit_key, release_on_exit) == 0)
      g_key_ready.store(true, std::memory_order_release);
    pthread_atfork(nullptr, nullptr, after_fork_in_child);
    return true;
  }();
  (void)done;
}

}  // namespace sled
