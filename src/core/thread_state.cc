// Thread records: claim on first traced call, release at thread exit,
// reset in the child after fork (only the forking thread survives there).
#include "core/thread_state.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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

void release_on_exit(void *rec) {
  auto *r = static_cast<ThreadRecord *>(rec);
  if (sled_thread_record == r) sled_thread_record = nullptr;
  r->nest.store(0, std::memory_order_relaxed);  // exited from inside a callback
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
    r->owner.store(0, std::memory_order_relaxed);
  }
}

}  // namespace

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
