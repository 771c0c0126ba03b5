// Grace-deferred reclamation for sled_unregister_ops_async (liburcu's
// call_rcu): what a change would free after its grace period is queued
// instead, with the caller's completion callback, and a sled thread runs
// one grace period for everything queued so far, frees it, and calls the
// callbacks. Any grace period run meanwhile (a synchronous change) also
// covers what was queued before it. Everything here runs under the
// registry lock except the reclaim thread's callback calls.
#pragma once
#include <vector>

#include "sled/sled.h"

namespace sled {

// While true on this thread (an async unregister is running), changes
// queue their reclamation instead of waiting.
bool reclaim_deferring();

class DeferScope {
 public:
  DeferScope();
  ~DeferScope();
  DeferScope(const DeferScope &) = delete;
  DeferScope &operator=(const DeferScope &) = delete;
};

// Queue after the next grace period: free(p) / dyntramp_release(ops) /
// done(ops, arg). Never fail: the queues reserve room in advance
// (reclaim_reserve, before the change's first write).
void reclaim_free(void *p);
void reclaim_frees(std::vector<void *> &ps);  // and clears ps
void reclaim_dyntramp(const sled_ops *ops);
void reclaim_done(sled_ops *ops, void (*done)(sled_ops *, void *), void *arg);
// Whether an async unregister of ops has not called its callback yet.
bool reclaim_pending(const sled_ops *ops);
// Room for n more entries in each queue; -ENOMEM (nothing changed) or 0.
int reclaim_reserve(size_t n);

// Called by synchronize() once its grace period has passed: everything
// queued before it is reclaimed now; callbacks are handed to the reclaim
// thread.
void reclaim_after_grace();
// Starts (or wakes) the reclaim thread; 0 or -errno (no thread: the caller
// then runs the grace period itself).
int reclaim_kick();
// Calls the callbacks whose grace period has passed, on the calling thread,
// which must hold no sled lock: the reclaim thread's loop, and the fallback
// when no reclaim thread can be created.
void reclaim_call_ready();

}  // namespace sled
