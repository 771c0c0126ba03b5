// One thread's buffer: a ring of fixed-size chunks in one anonymous mapping,
// the Writer state at its head. The owning thread fills chunks (events.cc);
// the writer thread drains them (drain.cc). Nothing here does I/O.
//
// Publication protocol (the only shared state is below, all atomics):
// - pub = (seq << kPubShift) | bytes used of the thread's current chunk,
//   stored with release after every event: a reader that loads it with
//   acquire sees the chunk header and every event byte below `used`.
// - drop_newest: a chunk is free -> owned (thread) -> full (release store
//   by the thread after its last byte and meta.used) -> free (release store
//   by the writer thread after its last read of the chunk). Each side loads
//   the state with acquire before touching the bytes, so the two never
//   access a chunk's bytes at the same time, except the current chunk below
//   pub.used, which the thread never rewrites.
// - overwrite_oldest: the thread never waits. A seqlock per chunk: the
//   thread stores meta.seq (relaxed), a release fence, then writes the
//   chunk; the writer thread loads meta.seq (acquire), copies, an acquire
//   fence, loads meta.seq again and keeps the copy only if it is unchanged
//   (if the copy read any byte of a newer generation, the fences order that
//   generation's seq store before the second load). The copy is the one
//   deliberate race (copy_chunk, invisible to TSan by design).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "format.h"
#include "recorder.h"

namespace sled::rec {

inline constexpr unsigned kPubShift = 20;  // chunks are at most 64 KiB
inline constexpr uint64_t kPubUsedMask = (1u << kPubShift) - 1;
inline constexpr size_t kMaxChunkBytes = 64 * 1024;
inline constexpr size_t kMinChunkBytes = 1024;
inline constexpr size_t kMinBufferBytes = 4096;

enum ChunkState : uint32_t { chunk_free = 0, chunk_owned = 1, chunk_full = 2 };

struct ChunkMeta {
  std::atomic<uint32_t> state;  // drop_newest only
  std::atomic<uint32_t> used;   // bytes, stored when the thread leaves the chunk
  std::atomic<uint64_t> seq;    // the generation the chunk holds (0: never used)
};

// The session's buffer geometry, fixed at start().
struct Geometry {
  Mode mode;
  uint32_t session;
  uint32_t n_chunks;
  uint32_t chunk_bytes;
  size_t map_bytes;    // per thread, <= the buffer_bytes bound
  size_t ring_offset;  // chunks start here in the mapping
};
// -EINVAL when buffer_bytes cannot hold the minimum ring.
int plan_geometry(size_t buffer_bytes, Mode mode, uint32_t session, Geometry *out);

struct Writer {
  // ---- hot: written by the owning thread only ----
  uint8_t *pos;    // next free byte of the current chunk
  uint8_t *end;    // end of the current chunk (== pos while dropping)
  uint8_t *chunk;  // current chunk, nullptr when none
  uint64_t prev_ts;
  uint64_t prev_ip;
  uint64_t prev_parent;
  uint64_t pub_base;  // seq << kPubShift of the current chunk
  uint64_t next_seq;  // seq of the next chunk taken (starts at 1)
  uint32_t cur;       // ring index of the current / next chunk
  bool last_dropped;  // the previous event was dropped: drop its args/retval
  // Read by the writer thread (relaxed loads; each has one writer, so the
  // owner's load+store increments are not read-modify-writes across threads).
  std::atomic<uint64_t> pub;
  std::atomic<uint64_t> events;
  std::atomic<uint64_t> lost;
  // ---- fixed at registration ----
  Geometry geo;
  uint8_t *ring;
  uint32_t tid;
  char name[16];
  // ---- the registry list and the writer thread's own state ----
  Writer *next;                        // the writer thread's list (under the session's ctl lock)
  std::atomic<Writer *> pending_next;  // lock-free push list of new threads
  uint64_t drain_seq;                  // drop: next seq to drain; overwrite: last full seq written
  bool announced;
  // geo.n_chunks ChunkMeta follow this struct in the mapping.

  ChunkMeta *meta() { return reinterpret_cast<ChunkMeta *>(this + 1); }
  uint8_t *chunk_at(uint64_t seq) const {
    return ring + ((seq - 1) % geo.n_chunks) * geo.chunk_bytes;
  }
  ChunkMeta &meta_of(uint64_t seq) { return meta()[(seq - 1) % geo.n_chunks]; }
};
static_assert(sizeof(Writer) % alignof(ChunkMeta) == 0);

// Maps and initialises a buffer for the calling thread; nullptr on failure.
Writer *map_writer(const Geometry &geo);
void unmap_writer(Writer *w);

// Slow path of every event: leaves the current chunk and takes the next.
// Returns where the event goes, or nullptr (dropped and counted).
uint8_t *make_room(Writer *w, uint64_t ts);

}  // namespace sled::rec
