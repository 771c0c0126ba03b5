// dlopen calls in flight and the thread-id snapshot (see dl_inflight.h).
// Never calls into the loader or takes sled's lock.
#include "core/dl_inflight.h"

#include <dirent.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <new>
#include <vector>

namespace sled {
namespace {

// Sequence number of begun dlopens. seq_cst: a refresh reads it after
// listing the loader's objects; a dlopen bumps it before the loader adds
// any. If the listing saw an object of that dlopen, the loader's lock
// ordered the bump before the listing, so the refresh sees the new value.
std::atomic<uint64_t> g_begins{0};
// In-flight count; same ordering argument as g_begins.
std::atomic<int> g_in_flight{0};
thread_local int t_depth = 0;

pthread_mutex_t g_snapshot_mu = PTHREAD_MUTEX_INITIALIZER;  // guards g_snapshot (a leaf lock)
std::vector<long> g_snapshot;  // sorted tids when the count went 0 -> 1
bool g_snapshot_ok = false;
bool g_snapshot_oom = false;  // the snapshot failed for want of memory

// The sorted tids of the process; false if /proc cannot be read, and
// *oom when that was for want of memory (never throws: dlopen_begin runs
// outside any catch).
bool read_tids(std::vector<long> *out, bool *oom) {
  *oom = false;
  out->clear();
  DIR *d = opendir("/proc/self/task");
  if (!d) {
    *oom = errno == ENOMEM;
    return false;
  }
  bool ok = true;
  try {
    while (struct dirent *e = readdir(d))
      if (e->d_name[0] != '.') out->push_back(strtol(e->d_name, nullptr, 10));
  } catch (const std::exception &) {
    ok = false;
    *oom = true;
  }
  closedir(d);
  std::sort(out->begin(), out->end());
  return ok;
}

class SnapshotLock {
 public:
  SnapshotLock() { pthread_mutex_lock(&g_snapshot_mu); }
  ~SnapshotLock() { pthread_mutex_unlock(&g_snapshot_mu); }
};

// A fork child keeps only this thread: only its own dlopens are in flight,
// and the lock may have been held by a thread that is not there.
void after_fork_child() {
  g_in_flight.store(t_depth, std::memory_order_seq_cst);
  pthread_mutex_init(&g_snapshot_mu, nullptr);
  g_snapshot_ok = false;
  g_snapshot_oom = false;
}

}  // namespace

void dlopen_begin() {
  static const bool registered = [] {
    return pthread_atfork(nullptr, nullptr, after_fork_child) == 0;
  }();
  (void)registered;
  t_depth++;
  g_begins.fetch_add(1, std::memory_order_seq_cst);
  SnapshotLock lock;
  if (g_in_flight.fetch_add(1, std::memory_order_seq_cst) == 0)
    g_snapshot_ok = read_tids(&g_snapshot, &g_snapshot_oom);
}

void dlopen_end() {
  t_depth--;
  g_in_flight.fetch_sub(1, std::memory_order_seq_cst);
}

int dlopen_depth_on_this_thread() { return t_depth; }

uint64_t dlopen_begins() { return g_begins.load(std::memory_order_seq_cst); }

int dlopens_in_flight() { return g_in_flight.load(std::memory_order_seq_cst); }

bool threads_started_during_dlopen() {
  std::vector<long> now;
  bool oom = false;
  bool ok = read_tids(&now, &oom);
  SnapshotLock lock;
  // Out of memory is not an answer: the refresh is cut short (core/oom.h)
  // and the module judged again, rather than refused for good.
  if (oom || (!g_snapshot_ok && g_snapshot_oom)) throw std::bad_alloc();
  if (!ok || !g_snapshot_ok) return true;
  return !std::includes(g_snapshot.begin(), g_snapshot.end(), now.begin(), now.end());
}

}  // namespace sled
