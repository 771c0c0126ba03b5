// Grace periods: after synchronize() returns, no thread is inside a
// dispatcher section that began before the call (see dispatch.cc).
#pragma once

namespace sled {
// 0 or a negative errno (membarrier unavailable). Skips the calling thread.
int grace_init();
// 0, or a negative errno when membarrier failed: the grace period then
// used the fallback barrier (grace.cc) and sled stopped patching.
int synchronize();
// The same grace period, for the reclaim thread, which waits without the
// registry lock (so sled calls on other threads go on meanwhile); then,
// under the lock, note_unlocked_grace(its result).
int synchronize_unlocked();
void note_unlocked_grace(int err);
}  // namespace sled
