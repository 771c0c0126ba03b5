// The hot path: thread_writer() and the event encoders, run on the traced
// thread inside sled callbacks. No lock, no system call, no allocation, no
// read-modify-write atomic; one release store (pub) per event. The slow
// path (make_room, map_writer) runs once per chunk / once per thread.
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "session_state.h"
#include "thread_buffer.h"

namespace sled::rec {
namespace {

// The thread's view of the session. `seen` is the g_state value the cached
// answer `w` was computed for; `own` is the thread's buffer of session
// `own_session` (never dereferenced for another session: it may be gone).
struct ThreadSlot {
  Writer *w;
  Writer *own;
  uint32_t own_session;
  uint32_t seen;
};
__attribute__((tls_model("initial-exec"))) thread_local ThreadSlot t_slot;

// A place for pos/end while a thread drops: pos == end, so every event
// takes the slow path, and pos + need stays inside this array.
alignas(64) uint8_t g_no_room[fmt::kMaxStackEvent + 64];

inline void count(std::atomic<uint64_t> &c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Timestamps never go backwards inside a stream (a caller's ts read before
// a nested event's): a late one is recorded as equal to the previous.
inline uint64_t ts_delta(Writer *w, uint64_t ts) {
  uint64_t d = ts - w->prev_ts;
  if (static_cast<int64_t>(d) < 0) d = 0;
  w->prev_ts += d;
  return d;
}

inline void commit(Writer *w, uint8_t *p) {
  w->pos = p;
  // release: the event bytes above become visible with the new size.
  w->pub.store(w->pub_base + static_cast<uint64_t>(p - w->chunk), std::memory_order_release);
  count(w->events);
}

inline bool has_room(const Writer *w, const uint8_t *p, size_t need) {
  return static_cast<size_t>(w->end - p) >= need;
}

// [anon:sled-trace-TID] in /proc/PID/maps, where the kernel supports
// naming anonymous memory (5.17+, CONFIG_ANON_VMA_NAME); best effort.
void name_mapping(void *m, size_t bytes, uint32_t tid) {
  char name[32] = "sled-trace-";
  char digits[12];
  int k = 0;
  for (uint32_t v = tid; k == 0 || v; v /= 10) digits[k++] = static_cast<char>('0' + v % 10);
  char *p = name + strlen(name);
  while (k) *p++ = digits[--k];
  *p = 0;
  prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, reinterpret_cast<unsigned long>(m), bytes,
        reinterpret_cast<unsigned long>(name));
}

Writer *thread_writer_slow(uint32_t seen_before) {
  // acquire: the session's geometry (g_geometry) was written before g_state.
  uint32_t s = g_state.load(std::memory_order_acquire);
  uint32_t session = s >> 1;
  ThreadSlot &t = t_slot;
  t.seen = s;
  if (session == 0 || !(s & 1)) {
    t.w = nullptr;
    return nullptr;
  }
  if (t.own_session != session) {
    t.own_session = session;
    t.own = map_writer(g_geometry);  // nullptr: no buffer for this session
    if (t.own) publish_writer(t.own);
  }
  t.w = t.own;
  (void)seen_before;
  return t.w;
}

}  // namespace

Writer *thread_writer() {
  // relaxed: equal to what this thread saw last means nothing changed that
  // it must re-read; a stale value only delays a traceon/traceoff by an
  // event. Sessions end only once no callback runs (recorder.h: stop()).
  uint32_t s = g_state.load(std::memory_order_relaxed);
  if (s == t_slot.seen) [[likely]]
    return t_slot.w;
  return thread_writer_slow(s);
}

int plan_geometry(size_t buffer_bytes, Mode mode, uint32_t session, Geometry *out) {
  if (buffer_bytes < kMinBufferBytes) return -EINVAL;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t map = buffer_bytes / page * page;  // the bound, rounded down to pages
  if (map < kMinBufferBytes) map = kMinBufferBytes;
  size_t chunk = kMaxChunkBytes;
  while (chunk > kMinChunkBytes && chunk * 4 + sizeof(Writer) + 4 * sizeof(ChunkMeta) > map)
    chunk /= 2;
  size_t n = (map - sizeof(Writer) - 64) / (chunk + sizeof(ChunkMeta));
  if (n < 2) return -EINVAL;
  if (n > 65536) n = 65536;
  size_t ring = (sizeof(Writer) + n * sizeof(ChunkMeta) + 63) / 64 * 64;
  if (ring + n * chunk > map) return -EINVAL;
  *out = {mode,
          session,
          static_cast<uint32_t>(n),
          static_cast<uint32_t>(chunk),
          (ring + n * chunk + page - 1) / page * page,
          ring};
  return 0;
}

// The buffer sits between two PROT_NONE guard pages: a bug that ran off
// its end faults instead of corrupting a neighbour, and the kernel never
// merges two buffers (or a buffer and other memory) into one line of
// /proc/PID/maps, which is how the tests measure the bound. The guards
// cost address space only.
Writer *map_writer(const Geometry &geo) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void *r = mmap(nullptr, geo.map_bytes + 2 * page, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return nullptr;
  void *m = static_cast<uint8_t *>(r) + page;
  if (mprotect(m, geo.map_bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(r, geo.map_bytes + 2 * page);
    return nullptr;
  }
  uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  name_mapping(m, geo.map_bytes, tid);
  Writer *w = new (m) Writer{};
  for (uint32_t i = 0; i < geo.n_chunks; i++) new (&w->meta()[i]) ChunkMeta{};
  w->geo = geo;
  w->ring = static_cast<uint8_t *>(m) + geo.ring_offset;
  w->pos = w->end = g_no_room;
  w->next_seq = 1;
  w->tid = tid;
  prctl(PR_GET_NAME, w->name, 0, 0, 0);
  w->name[15] = 0;
  return w;
}

void unmap_writer(Writer *w) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t bytes = w->geo.map_bytes;
  w->~Writer();
  munmap(reinterpret_cast<uint8_t *>(w) - page, bytes + 2 * page);
}

uint8_t *make_room(Writer *w, uint64_t ts) {
  uint32_t n = w->geo.n_chunks;
  if (w->chunk) {
    ChunkMeta &m = w->meta()[w->cur];
    m.used.store(static_cast<uint32_t>(w->pos - w->chunk), std::memory_order_relaxed);
    // release: the writer thread's acquire load of `full` sees every byte
    // of the chunk and `used`.
    if (w->geo.mode == Mode::drop_newest) m.state.store(chunk_full, std::memory_order_release);
    w->cur = (w->cur + 1) % n;
    w->chunk = nullptr;
    w->pos = w->end = g_no_room;
  }
  ChunkMeta &m = w->meta()[w->cur];
  if (w->geo.mode == Mode::drop_newest) {
    // acquire: the writer thread's reads of this chunk are over before we
    // write it (its release store of `free`).
    if (m.state.load(std::memory_order_acquire) != chunk_free) {
      count(w->lost);
      w->last_dropped = true;
      return nullptr;
    }
    m.state.store(chunk_owned, std::memory_order_relaxed);  // only this thread looks at owned
  }
  uint64_t seq = w->next_seq++;
  m.seq.store(seq, std::memory_order_relaxed);
  // release fence: orders the seq store before the chunk's new bytes (the
  // overwrite seqlock, thread_buffer.h); harmless in drop mode.
  std::atomic_thread_fence(std::memory_order_release);
  uint8_t *c = w->ring + static_cast<size_t>(w->cur) * w->geo.chunk_bytes;
  if (ts < w->prev_ts) ts = w->prev_ts;
  fmt::put_u32(c, w->tid);
  fmt::put_u32(c + 4, 0);
  fmt::put_u64(c + 8, seq);
  fmt::put_u64(c + 16, ts);
  fmt::put_u64(c + 24, w->lost.load(std::memory_order_relaxed));
  w->chunk = c;
  w->pos = c + fmt::kChunkHeaderBytes;
  w->end = c + w->geo.chunk_bytes;
  w->prev_ts = ts;
  w->prev_ip = 0;
  w->prev_parent = 0;
  w->pub_base = seq << kPubShift;
  w->last_dropped = false;
  w->pub.store(w->pub_base + fmt::kChunkHeaderBytes, std::memory_order_release);
  return w->pos;
}

// Each encoder checks for room once; without room it tail-calls its slow
// twin, which takes a new chunk (make_room) and calls the encoder again,
// so the fast path saves no registers and calls nothing.
#define SLED_REC_SLOW(name, params, args_, ts_)                 \
  [[gnu::noinline, gnu::cold]] static void name##_slow params { \
    if (make_room(w, ts_)) name args_;                          \
  }

SLED_REC_SLOW(entry, (Writer * w, uint64_t ts, uintptr_t ip, uintptr_t parent_ip),
              (w, ts, ip, parent_ip), ts)
void entry(Writer *w, uint64_t ts, uintptr_t ip, uintptr_t parent_ip) {
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kEntryRoom)) [[unlikely]]
    return entry_slow(w, ts, ip, parent_ip);
  *p++ = fmt::ev_entry;
  p = fmt::put_varint(p, ts_delta(w, ts));
  p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(ip - w->prev_ip)));
  p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(parent_ip - w->prev_parent)));
  w->prev_ip = ip;
  w->prev_parent = parent_ip;
  commit(w, p);
}

SLED_REC_SLOW(exit, (Writer * w, uint64_t ts, uintptr_t ip, bool unwound), (w, ts, ip, unwound), ts)
void exit(Writer *w, uint64_t ts, uintptr_t ip, bool unwound) {
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kExitRoom)) [[unlikely]]
    return exit_slow(w, ts, ip, unwound);
  *p++ = unwound ? fmt::ev_exit_unwound : fmt::ev_exit;
  p = fmt::put_varint(p, ts_delta(w, ts));
  p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(ip - w->prev_ip)));
  w->prev_ip = ip;
  commit(w, p);
}

SLED_REC_SLOW(args, (Writer * w, const uint64_t *values, unsigned n), (w, values, n), w->prev_ts)
void args(Writer *w, const uint64_t *values, unsigned n) {
  if (n > fmt::kMaxArgs) n = fmt::kMaxArgs;
  if (w->last_dropped) [[unlikely]] {
    count(w->lost);  // its entry was dropped
    return;
  }
  if (n == 0) return;
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kMaxArgsEvent)) [[unlikely]]
    return args_slow(w, values, n);
  *p++ = fmt::ev_args;
  *p++ = static_cast<uint8_t>(n);
  for (unsigned i = 0; i < n; i++)
    p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(values[i])));
  commit(w, p);
}

SLED_REC_SLOW(retval, (Writer * w, uint64_t value), (w, value), w->prev_ts)
void retval(Writer *w, uint64_t value) {
  if (w->last_dropped) [[unlikely]] {
    count(w->lost);  // its exit was dropped
    return;
  }
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kMaxSmallEvent)) [[unlikely]]
    return retval_slow(w, value);
  *p++ = fmt::ev_retval;
  p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(value)));
  commit(w, p);
}

SLED_REC_SLOW(stack, (Writer * w, uint64_t ts, const uintptr_t *ips, unsigned n), (w, ts, ips, n),
              ts)
void stack(Writer *w, uint64_t ts, const uintptr_t *ips, unsigned n) {
  if (n > fmt::kMaxStack) n = fmt::kMaxStack;
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kMaxStackEvent)) [[unlikely]]
    return stack_slow(w, ts, ips, n);
  *p++ = fmt::ev_stack;
  p = fmt::put_varint(p, ts_delta(w, ts));
  *p++ = static_cast<uint8_t>(n);
  uint64_t prev = w->prev_ip;
  for (unsigned i = 0; i < n; i++) {
    p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(ips[i] - prev)));
    prev = ips[i];
  }
  commit(w, p);
}

SLED_REC_SLOW(marker, (Writer * w, uint64_t ts, uintptr_t ip, Marker kind, uint64_t arg),
              (w, ts, ip, kind, arg), ts)
void marker(Writer *w, uint64_t ts, uintptr_t ip, Marker kind, uint64_t arg) {
  uint8_t *p = w->pos;
  if (!has_room(w, p, fmt::kMaxSmallEvent)) [[unlikely]]
    return marker_slow(w, ts, ip, kind, arg);
  *p++ = fmt::ev_marker;
  p = fmt::put_varint(p, ts_delta(w, ts));
  p = fmt::put_varint(p, fmt::zigzag(static_cast<int64_t>(ip - w->prev_ip)));
  p = fmt::put_varint(p, static_cast<uint32_t>(kind));
  p = fmt::put_varint(p, arg);
  commit(w, p);
}
#undef SLED_REC_SLOW

}  // namespace sled::rec
