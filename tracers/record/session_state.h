// The few globals the hot path reads (events.cc) and the session writes
// (session.cc). Kept apart so that the hot path sees nothing else.
#pragma once

#include <atomic>
#include <cstdint>

#include "thread_buffer.h"

namespace sled::rec {

// (session id << 1) | enabled; session id 0: none. Stored with release
// after g_geometry (and the clock) are set, by start/stop/set_enabled.
extern std::atomic<uint32_t> g_state;
// The open session's buffer geometry; written only while no session is
// published.
extern Geometry g_geometry;
// Hands a new thread's buffer to the writer thread (lock-free push).
void publish_writer(Writer *w);

}  // namespace sled::rec
