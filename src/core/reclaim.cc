// The reclaim queues and thread (reclaim.h). The thread is sled's own:
// created on the first async unregister with every signal blocked (it never
// runs the host's handlers), named sled-reclaim, detached. A fork child
// has no such thread: the next kick there starts one.
#include "core/reclaim.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>

#include "core/dyntramp.h"
#include "core/grace.h"
#include "core/registry.h"

namespace sled {
namespace {

struct Done {
  sled_ops *ops;
  void (*fn)(sled_ops *, void *);
  void *arg;
};

// Under the registry lock: waiting for a grace period.
std::vector<void *> g_frees;
std::vector<const sled_ops *> g_tramps;
std::vector<Done> g_pending;
std::vector<Done> g_waiting;  // taken by the reclaim thread, its grace period running
// Under g_ready_lock: past their grace period, callbacks to call.
pthread_mutex_t g_ready_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_ready_cond = PTHREAD_COND_INITIALIZER;
std::vector<Done> g_ready;
bool g_work = false;            // under g_ready_lock: something queued or ready
bool g_thread_running = false;  // under g_ready_lock
bool g_atfork_set = false;

__thread int t_deferring = 0;

void forget_thread_in_child() {
  // The child has only the forking thread: no reclaim thread. Pending
  // entries stay queued for the child's next grace period.
  g_thread_running = false;
  pthread_mutex_init(&g_ready_lock, nullptr);
  pthread_cond_init(&g_ready_cond, nullptr);
}

// What the reclaim thread takes out of the queues for one grace period.
struct Batch {
  std::vector<void *> frees;
  std::vector<const sled_ops *> tramps;
  bool empty() const { return frees.empty() && tramps.empty() && g_waiting.empty(); }
};

constexpr long kCoalesceNs = 200 * 1000;  // 200 us

void *reclaim_main(void *) {
  pthread_setname_np(pthread_self(), "sled-reclaim");
  for (;;) {
    pthread_mutex_lock(&g_ready_lock);
    while (!g_work) pthread_cond_wait(&g_ready_cond, &g_ready_lock);
    pthread_mutex_unlock(&g_ready_lock);
    // A short window before taking the batch: a controller unregistering
    // many ops in a row queues them into one grace period, instead of
    // waking this thread into a grace period (and the registry lock) after
    // each one. Only completion callbacks wait for it.
    timespec window{0, kCoalesceNs};
    nanosleep(&window, nullptr);
    pthread_mutex_lock(&g_ready_lock);
    g_work = false;
    pthread_mutex_unlock(&g_ready_lock);
    Batch batch;
    bool have;
    {
      RegistryLock lock;
      batch.frees.swap(g_frees);
      batch.tramps.swap(g_tramps);
      g_waiting.swap(g_pending);
      have = !batch.empty();
    }
    if (have) {
      // Everything in the batch was unpublished before it was queued, so
      // one grace period from here covers it all. Waited for without the
      // registry lock: other threads keep changing tracing meanwhile.
      int err = synchronize_unlocked();
      RegistryLock lock;
      note_unlocked_grace(err);
      for (void *p : batch.frees) free(p);
      for (const sled_ops *o : batch.tramps) dyntramp_release(o);
      pthread_mutex_lock(&g_ready_lock);
      try {
        g_ready.insert(g_ready.end(), g_waiting.begin(), g_waiting.end());
        g_waiting.clear();
      } catch (...) {
        g_pending.insert(g_pending.end(), g_waiting.begin(), g_waiting.end());  // reserved room
        g_waiting.clear();
      }
      pthread_mutex_unlock(&g_ready_lock);
    }
    reclaim_call_ready();
  }
  return nullptr;
}

}  // namespace

void reclaim_call_ready() {
  pthread_mutex_lock(&g_ready_lock);
  std::vector<Done> ready;
  ready.swap(g_ready);
  pthread_mutex_unlock(&g_ready_lock);
  // Outside every lock: a callback may call sled (even re-register).
  for (const Done &d : ready)
    if (d.fn) d.fn(d.ops, d.arg);
}

bool reclaim_deferring() { return t_deferring > 0; }

bool reclaim_pending(const sled_ops *ops) {
  for (const Done &d : g_pending)
    if (d.ops == ops) return true;
  for (const Done &d : g_waiting)
    if (d.ops == ops) return true;
  pthread_mutex_lock(&g_ready_lock);
  bool found = false;
  for (const Done &d : g_ready) found |= d.ops == ops;
  pthread_mutex_unlock(&g_ready_lock);
  return found;
}
DeferScope::DeferScope() { t_deferring++; }
DeferScope::~DeferScope() { t_deferring--; }

int reclaim_reserve(size_t n) {
  try {
    g_frees.reserve(g_frees.size() + n);
    g_tramps.reserve(g_tramps.size() + n);
    g_pending.reserve(g_pending.size() + n);
  } catch (...) {
    return -ENOMEM;
  }
  return 0;
}

// push_back within the reserved room never throws; past it (a caller that
// under-reserved) an allocation failure falls back to waiting right here.
template <class T>
bool queue(std::vector<T> &v, const T &item) {
  try {
    v.push_back(item);
    return true;
  } catch (...) {
    return false;
  }
}

void reclaim_free(void *p) {
  if (p && !queue(g_frees, p)) {
    synchronize();
    free(p);
  }
}

void reclaim_frees(std::vector<void *> &ps) {
  for (void *p : ps) reclaim_free(p);
  ps.clear();
}

void reclaim_dyntramp(const sled_ops *ops) {
  if (!queue(g_tramps, ops)) {
    synchronize();
    dyntramp_release(ops);
  }
}

void reclaim_done(sled_ops *ops, void (*done)(sled_ops *, void *), void *arg) {
  if (!queue(g_pending, Done{ops, done, arg})) {
    synchronize();  // reclaims the rest; this one goes straight to ready
    pthread_mutex_lock(&g_ready_lock);
    bool ok = queue(g_ready, Done{ops, done, arg});
    pthread_mutex_unlock(&g_ready_lock);
    if (!ok && done) done(ops, arg);  // last resort: on the caller's thread
  }
}

void reclaim_after_grace() {
  for (void *p : g_frees) free(p);
  g_frees.clear();
  for (const sled_ops *o : g_tramps) dyntramp_release(o);
  g_tramps.clear();
  if (g_pending.empty()) return;
  pthread_mutex_lock(&g_ready_lock);
  bool moved = true;
  try {
    g_ready.insert(g_ready.end(), g_pending.begin(), g_pending.end());
  } catch (...) {
    moved = false;
  }
  if (moved) {
    g_pending.clear();
    g_work = true;
    pthread_cond_signal(&g_ready_cond);
  }
  pthread_mutex_unlock(&g_ready_lock);
  // Not moved (no memory): they stay pending for the next grace period.
}

int reclaim_kick() {
  pthread_mutex_lock(&g_ready_lock);
  g_work = true;
  int err = 0;
  if (!g_thread_running) {
    if (!g_atfork_set) g_atfork_set = pthread_atfork(nullptr, nullptr, forget_thread_in_child) == 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread inherits it
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    err = -pthread_create(&th, &attr, reclaim_main, nullptr);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    g_thread_running = err == 0;
  }
  pthread_cond_signal(&g_ready_cond);
  pthread_mutex_unlock(&g_ready_lock);
  return err;
}

}  // namespace sled
