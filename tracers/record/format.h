// The trace format's constants and byte-level helpers, shared by the
// writer (the recorder, in-process) and the reader (sled_reader). Pure
// functions on bytes: no I/O, no allocation. docs/trace-format.md is the
// prose version of this file; change both together and bump kVersion.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sled::fmt {

static_assert(std::endian::native == std::endian::little,
              "the format is little-endian and so are the hosts sled supports");

inline constexpr char kFileName[] = "trace.sled";
inline constexpr uint32_t kVersion = 1;
// Every record starts with this magic ("SLTR" in the file).
inline constexpr uint32_t kRecordMagic = 0x52544c53u;

// Record header: magic u32, type u16, flags u16 (0), payload size u32,
// crc32c u32 of (type, flags, size, payload).
inline constexpr size_t kRecordHeaderBytes = 16;

enum RecordType : uint16_t {
  rec_header = 1,      // first record of the file
  rec_thread = 2,      // a thread's first appearance: tid, name
  rec_chunk = 3,       // one chunk of one thread's event stream
  rec_clock = 4,       // a (ticks, CLOCK_MONOTONIC ns) pair
  rec_symbols = 5,     // modules and sites
  rec_section = 6,     // a named blob
  rec_thread_end = 7,  // a thread that exited: its totals
  rec_footer = 8,      // last record of a complete trace
};

enum ClockId : uint8_t { clock_tsc = 1, clock_cntvct = 2, clock_monotonic = 3 };

// Chunk payload: this header, then events.
//   u32 tid, u32 flags (0), u64 seq, u64 base_ts, u64 lost_before
inline constexpr size_t kChunkHeaderBytes = 32;

// Event header byte: kind in the low 4 bits, the high 4 bits zero.
enum EventKind : uint8_t {
  ev_entry = 1,         // ts delta, zigzag(ip - prev_ip), zigzag(parent - prev_parent)
  ev_exit = 2,          // ts delta, zigzag(ip - prev_ip)
  ev_exit_unwound = 3,  // as ev_exit
  ev_args = 4,          // count (1..8), zigzag(value) each
  ev_retval = 5,        // zigzag(value)
  ev_stack = 6,         // ts delta, count (0..64), zigzag deltas (first vs prev_ip)
  ev_marker = 7,        // ts delta, zigzag(ip - prev_ip), kind, arg
};
inline constexpr unsigned kMaxArgs = 8;
inline constexpr unsigned kMaxStack = 64;
inline constexpr size_t kMaxVarint = 10;
// Worst-case encoded sizes, checked against the room left in a chunk.
inline constexpr size_t kMaxSmallEvent = 1 + 4 * kMaxVarint;  // entry/exit/marker/retval
inline constexpr size_t kMaxArgsEvent = 2 + kMaxArgs * kMaxVarint;
inline constexpr size_t kMaxStackEvent = 2 + kMaxVarint + kMaxStack * kMaxVarint;
// An entry takes a chunk only with room for its args too, an exit with room
// for its retval: args and retval always sit right after their event, in
// the same chunk (they name no ip themselves).
inline constexpr size_t kEntryRoom = kMaxSmallEvent + kMaxArgsEvent;
inline constexpr size_t kExitRoom = 2 * kMaxSmallEvent;

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// LEB128. The one-byte case first: most deltas are small.
inline uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Reads a varint from [p, end); nullptr when it runs past end or past 10
// bytes (hostile input).
inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return p;
    }
  }
  return nullptr;
}

inline void put_u16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void put_u32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void put_u64(uint8_t *p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t get_u16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t get_u32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t get_u64(const uint8_t *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// CRC-32C (Castagnoli), software, table-driven; `crc` is the running value
// (start with 0).
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

}  // namespace sled::fmt
