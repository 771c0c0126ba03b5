// Writer side of the grace-period protocol described in dispatch.cc.
#include "core/grace.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

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

void backoff(unsigned round) {
  if (round < 64) {
    sched_yield();
    return;
  }
  timespec ts{0, 50 * 1000};  // 50 µs: a thread inside a slow callback
  nanosleep(&ts, nullptr);
}
}  // namespace

int grace_init() {
  static int result = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 ? 0 : -errno;
  return result;
}

void synchronize() {
  // Orders our earlier literal stores before the nest loads below on every
  // CPU running one of our threads (see dispatch.cc). If registration failed
  // at init, sled refuses to patch, so this is never reached without it.
  membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  ThreadRecord *self = sled_thread_record;
  for (ThreadRecord *r = thread_records(); r; r = r->next) {
    if (r == self) continue;
    if (r->nest.load(kScanOrder) == 0) continue;
    uint32_t gen = r->gen.load(kScanOrder);
    // A record whose owner is gone (thread exited, or did not survive a
    // fork) holds no section.
    for (unsigned round = 0; r->nest.load(kScanOrder) != 0 && r->gen.load(kScanOrder) == gen &&
                             r->owner.load(std::memory_order_acquire) != 0;
         round++)
      backoff(round);
  }
  registry().stats.grace_periods++;
}

}  // namespace sled
