// Writer side of the grace-period protocol described in dispatch.cc: waits
// until every other thread has left the dispatcher section it was in when
// the call began. It never writes a thread record (only its thread does);
// a section abandoned by a non-local exit is recognised from outside
// (thread_state.cc) so that a grace period never hangs on it.
#include "core/grace.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "core/error.h"
#include "core/reclaim.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace sled {
namespace {
int membarrier(int cmd) { return static_cast<int>(syscall(__NR_membarrier, cmd, 0, 0)); }

#ifdef SLED_TSAN
constexpr std::memory_order kScanOrder = std::memory_order_seq_cst;
#else
constexpr std::memory_order kScanOrder = std::memory_order_acquire;
#endif

// Rounds of waiting on one thread before checking whether its section was
// abandoned (> 1 ms), and between two checks.
constexpr unsigned kFirstProbe = 96, kProbeEvery = 64;

void sleep_us(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

void backoff(unsigned round) {
  if (round < 64) {
    sched_yield();
    return;
  }
  sleep_us(50);  // a thread inside a slow callback
}

// When membarrier fails at run time (a seccomp sandbox entered after
// start-up): what runtimes without membarrier do. Narrowing the protection
// of a page this process has touched makes the kernel shoot down its TLB
// entry on every CPU that runs one of our threads: an interrupt, which
// serialises those CPUs and drains their store buffers (x86). aarch64
// broadcasts TLB invalidations without interrupts, hence also a wait far
// longer than any store buffer holds a store. Best effort, documented.
void fallback_barrier() {
  static void *page =
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED) {
    *static_cast<volatile char *>(page) = 1;  // present, so its TLB entry may be cached
    mprotect(page, 4096, PROT_READ);
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
  }
  sleep_us(1000);
}

// Waits until r's thread is out of the section it is in now (if any).
// `locked`: the caller holds the registry lock, which guards abandoned_gen
// (the reclaim thread waits without it and keeps its verdicts to itself).
void wait_for(ThreadRecord *r, bool locked) {
  if (r->nest.load(kScanOrder) == 0) return;
  uint32_t gen = r->gen.load(kScanOrder);
  if (locked && r->abandoned_gen == gen + 1) return;  // judged so by an earlier grace period
  for (unsigned round = 0; r->nest.load(kScanOrder) != 0 && r->gen.load(kScanOrder) == gen &&
                           r->owner.load(std::memory_order_acquire) != 0;
       round++) {
    // A record whose owner is gone (thread exited, or did not survive a
    // fork) holds no section; one whose frame is gone neither.
    if (round >= kFirstProbe && (round - kFirstProbe) % kProbeEvery == 0 &&
        section_abandoned_remote(r)) {
      if (locked) r->abandoned_gen = gen + 1;
      return;
    }
    backoff(round);
  }
}

}  // namespace

int grace_init() {
  static int result = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 ? 0 : -errno;
  return result;
}

namespace {
// The grace period itself; 0 or the membarrier error (the fallback barrier
// ran instead).
int wait_grace(bool locked) {
  // Orders our earlier literal stores before the nest loads below on every
  // CPU running one of our threads (see dispatch.cc). Registered at init
  // (sled refuses to patch without it), but a sandbox may forbid it later.
  int err = 0;
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    err = -errno;
    fallback_barrier();
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  ThreadRecord *self = sled_thread_record;
  // The record list is immutable once linked: walking it needs no lock.
  for (ThreadRecord *r = thread_records(); r; r = r->next)
    if (r != self) wait_for(r, locked);
  return err;
}

void note_membarrier_failure(int err) {
  Registry &r = registry();
  if (!r.killed)
    set_last_error("membarrier failed (%s); sled stopped patching", sled_strerror(err));
  r.killed = true;  // patching needs membarrier(SYNC_CORE) too
}
}  // namespace

int synchronize_unlocked() { return wait_grace(false); }

void note_unlocked_grace(int err) {
  if (err) note_membarrier_failure(err);
  registry().stats.grace_periods++;
}

int synchronize() {
  int err = wait_grace(true);
  if (err) note_membarrier_failure(err);
  registry().stats.grace_periods++;
  reclaim_after_grace();  // what async unregisters queued before it is safe now
  return err;
}

}  // namespace sled
