// now() and its calibration. The architecture's counter is used when it
// runs at a constant rate: the x86 TSC only when CPUID says it is invariant
// (constant across P/C-states, synchronised across cores on the machines
// that advertise it); arm64's cntvct_el0 always (architecturally constant,
// its rate in cntfrq_el0). Elsewhere CLOCK_MONOTONIC (vDSO).
#include "clock.h"

#include <atomic>
#include <cerrno>
#include <ctime>
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace sled::rec {
namespace {

uint64_t read_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// ---- the architecture's counter: four small functions per architecture ----
#if defined(__x86_64__)
constexpr fmt::ClockId kArchCounter = fmt::clock_tsc;
inline uint64_t read_arch_counter() { return __rdtsc(); }
bool arch_counter_usable() {
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return (d >> 8) & 1;  // invariant TSC
}
uint64_t arch_counter_frequency() { return 0; }  // not architectural: measured
#elif defined(__aarch64__)
constexpr fmt::ClockId kArchCounter = fmt::clock_cntvct;
inline uint64_t read_arch_counter() {
  uint64_t v;
  asm volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
bool arch_counter_usable() { return true; }
uint64_t arch_counter_frequency() {
  uint64_t f;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
}
#else
constexpr fmt::ClockId kArchCounter = fmt::clock_monotonic;
inline uint64_t read_arch_counter() { return read_ns(CLOCK_MONOTONIC); }
bool arch_counter_usable() { return false; }
uint64_t arch_counter_frequency() { return 0; }
#endif

// Written by start() before the session state is published (release in
// session.cc); now() reads it relaxed: a thread that sees the session also
// sees this (acquire there), and a stale value before any session only
// mislabels timestamps nobody records.
std::atomic<uint8_t> g_clock{fmt::clock_monotonic};

inline uint64_t read_counter(uint8_t id) {
  return id == kArchCounter && id != fmt::clock_monotonic ? read_arch_counter()
                                                          : read_ns(CLOCK_MONOTONIC);
}

}  // namespace

uint64_t monotonic_ns() { return read_ns(CLOCK_MONOTONIC); }
uint64_t realtime_ns() { return read_ns(CLOCK_REALTIME); }

int resolve_clock(ClockKind want, fmt::ClockId *out) {
  if (want != ClockKind::monotonic && arch_counter_usable()) {
    *out = kArchCounter;
    return 0;
  }
  if (want == ClockKind::tsc) return -ENOTSUP;
  *out = fmt::clock_monotonic;
  return 0;
}

void select_clock(fmt::ClockId id) { g_clock.store(id, std::memory_order_relaxed); }
fmt::ClockId selected_clock() {
  return static_cast<fmt::ClockId>(g_clock.load(std::memory_order_relaxed));
}

uint64_t now() { return read_counter(g_clock.load(std::memory_order_relaxed)); }

ClockPair read_pair() {
  uint8_t id = g_clock.load(std::memory_order_relaxed);
  ClockPair best{};
  uint64_t best_window = ~0ull;
  for (int i = 0; i < 5; i++) {
    uint64_t m0 = read_ns(CLOCK_MONOTONIC);
    uint64_t t = read_counter(id);
    uint64_t m1 = read_ns(CLOCK_MONOTONIC);
    if (m1 - m0 < best_window) {
      best_window = m1 - m0;
      best = {t, m0 + (m1 - m0) / 2};
    }
  }
  return best;
}

namespace {
// The open (or last) session's counter rate, for duration_ns; 0 before any
// session. Set by start() before the session is published; relaxed: a
// reader racing a start may convert with the previous rate, which only
// matters for a profile read across two sessions.
std::atomic<uint64_t> g_rate{0};
}  // namespace

void set_session_rate(uint64_t ticks_per_second) {
  g_rate.store(ticks_per_second, std::memory_order_relaxed);
}

uint64_t duration_ns(uint64_t raw_delta) {
  uint64_t rate = g_rate.load(std::memory_order_relaxed);
  if (rate == 0 || rate == 1000000000u) return raw_delta;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(raw_delta) * 1000000000u / rate);
}

uint64_t ticks_per_second(const ClockPair &first, const ClockPair &second) {
  uint8_t id = g_clock.load(std::memory_order_relaxed);
  if (id == fmt::clock_monotonic) return 1000000000u;
  if (uint64_t f = arch_counter_frequency()) return f;
  uint64_t dt = second.ticks - first.ticks, dm = second.mono_ns - first.mono_ns;
  if (dm == 0) return 1000000000u;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(dt) * 1000000000u / dm);
}

}  // namespace sled::rec
