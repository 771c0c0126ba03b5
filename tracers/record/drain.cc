// Chunk collection for the writer thread; see thread_buffer.h for why each
// load and store below is enough.
#include "drain.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sled::rec {
namespace {

// The overwrite seqlock's copy. It may read bytes the thread is writing at
// the same moment; such a copy is thrown away by the seq check after it.
// Uninstrumented so that TSan does not report that one intended race.
__attribute__((no_sanitize("thread"))) void copy_chunk(uint8_t *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

// Copies chunk `seq` (used bytes) into staging and appends it if the
// thread did not start reusing the chunk meanwhile.
void append_if_stable(Writer *w, TraceFile &f, std::vector<uint8_t> &staging, uint64_t seq,
                      uint32_t used) {
  ChunkMeta &m = w->meta_of(seq);
  if (used < fmt::kChunkHeaderBytes || used > w->geo.chunk_bytes) return;
  copy_chunk(staging.data(), w->chunk_at(seq), used);
  // acquire fence: if the copy saw a byte of a newer generation, the seq
  // load below sees that generation's seq (the thread's release fence).
  std::atomic_thread_fence(std::memory_order_acquire);
  if (m.seq.load(std::memory_order_relaxed) != seq) return;
  f.append(fmt::rec_chunk, staging.data(), used);
}

}  // namespace

void drain_full(Writer *w, TraceFile &f) {
  if (w->drain_seq == 0) w->drain_seq = 1;
  for (;;) {
    ChunkMeta &m = w->meta_of(w->drain_seq);
    // acquire: pairs with the thread's release store of `full`: the chunk's
    // bytes and `used` are complete.
    if (m.state.load(std::memory_order_acquire) != chunk_full) return;
    uint32_t used = m.used.load(std::memory_order_relaxed);
    if (used >= fmt::kChunkHeaderBytes && used <= w->geo.chunk_bytes)
      f.append(fmt::rec_chunk, w->chunk_at(w->drain_seq), used);
    // release: our reads of the chunk happen before the thread reuses it.
    m.state.store(chunk_free, std::memory_order_release);
    w->drain_seq++;
  }
}

void flush_held(Writer *w, TraceFile &f, std::vector<uint8_t> &staging) {
  // acquire: the current chunk's header and events below `used`.
  uint64_t pub = w->pub.load(std::memory_order_acquire);
  uint64_t cur = pub >> kPubShift;
  uint32_t used = static_cast<uint32_t>(pub & kPubUsedMask);
  if (cur == 0) return;  // no chunk taken yet
  if (w->geo.mode == Mode::drop_newest) {
    drain_full(w, f);
    // Chunks before drain_seq were written and may be reused: skip. The
    // current one is owned or full-but-not-drained: the thread does not
    // rewrite it until we free it, and only appends above `used`.
    if (cur >= w->drain_seq && used <= w->geo.chunk_bytes)
      f.append(fmt::rec_chunk, w->chunk_at(cur), used);
    return;
  }
  uint64_t n = w->geo.n_chunks;
  uint64_t first = cur > n ? cur - n + 1 : 1;
  if (first <= w->drain_seq) first = w->drain_seq + 1;  // full chunks written by an earlier flush
  for (uint64_t s = first; s < cur; s++) {
    ChunkMeta &m = w->meta_of(s);
    if (m.seq.load(std::memory_order_acquire) != s) continue;  // overwritten already
    append_if_stable(w, f, staging, s, m.used.load(std::memory_order_relaxed));
    w->drain_seq = s;
  }
  append_if_stable(w, f, staging, cur, used);
}

bool thread_gone(const Writer *w) {
  return syscall(SYS_tgkill, getpid(), w->tid, 0) != 0 && errno == ESRCH;
}

}  // namespace sled::rec
