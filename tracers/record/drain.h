// The writer thread's side of a thread buffer (thread_buffer.h explains the
// protocol): taking published chunks out of a ring and appending them to
// the trace file. Runs under the session's ctl lock, never on a traced
// thread.
#pragma once

#include <vector>

#include "thread_buffer.h"
#include "trace_file.h"

namespace sled::rec {

// drop_newest: appends every full chunk in order and hands it back.
void drain_full(Writer *w, TraceFile &f);
// Appends what the thread holds beyond the drained chunks: drop_newest, the
// current chunk's published part; overwrite_oldest, every chunk of the ring
// still intact, oldest first. `staging` is a chunk-sized scratch buffer.
void flush_held(Writer *w, TraceFile &f, std::vector<uint8_t> &staging);
// The thread has exited (its tid is gone): its buffer will not change.
bool thread_gone(const Writer *w);

}  // namespace sled::rec
