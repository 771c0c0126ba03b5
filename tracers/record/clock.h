// The recorder's clock: which counter now() reads, and the (ticks, ns)
// pairs the reader converts with. Owns no thread and no file.
#pragma once

#include <cstdint>

#include "format.h"
#include "recorder.h"

namespace sled::rec {

struct ClockPair {
  uint64_t ticks;    // the counter now() reads
  uint64_t mono_ns;  // CLOCK_MONOTONIC at the same instant (+- the window)
};

// The counter `want` resolves to on this machine: -ENOTSUP if the TSC was
// forced and is not invariant here (or not x86).
int resolve_clock(ClockKind want, fmt::ClockId *out);
// Selects the counter now() reads (start() only, before any event).
void select_clock(fmt::ClockId id);
fmt::ClockId selected_clock();
// A pair read as close together as this machine allows (best of a few).
ClockPair read_pair();
// The counter's nominal frequency: exact for cntvct and monotonic, measured
// over `pair` and a new pair for the TSC (callers wait between them).
uint64_t ticks_per_second(const ClockPair &first, const ClockPair &second);
// The rate duration_ns (recorder.h) converts with: start() sets it.
void set_session_rate(uint64_t ticks_per_second);
uint64_t monotonic_ns();
uint64_t realtime_ns();

}  // namespace sled::rec
