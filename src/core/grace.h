// Grace periods: after synchronize() returns, no thread is inside a
// dispatcher section that began before the call (see dispatch.cc).
#pragma once

namespace sled {
// 0 or a negative errno (membarrier unavailable). Skips the calling thread.
int grace_init();
void synchronize();
}  // namespace sled
