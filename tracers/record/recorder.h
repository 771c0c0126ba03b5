// The recorder: per-thread ring buffers, the clock, the background writer
// and the trace-format writer. Used by the tracers (tracers/*.cc) through
// this header only; it knows nothing of sled's engine beyond the public
// API (sled.h: the symbol tables come from sled_for_each_site).
//
// Hot path (entry/exit/args/...): called from sled callbacks on the calling
// thread. Lock-free, no system call, no allocation after the thread's first
// event (which maps its buffer), async-signal-safe with respect to itself
// only in the sense sled guarantees: a thread never runs two callbacks at
// once unless an ops is RECURSION_SAFE, and tracers never are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sled::rec {

enum class Mode { drop_newest, overwrite_oldest };
enum class ClockKind { automatic, tsc, monotonic };

struct Options {
  std::string dir = "sled.trace";
  size_t buffer_bytes = 4u << 20;  // per thread
  Mode mode = Mode::drop_newest;
  ClockKind clock = ClockKind::automatic;
};

// Event kinds recorded in the stream (the format document lists them).
enum class Marker : uint32_t {
  trace_on = 1,
  trace_off = 2,
  snapshot = 3,
  inject_delay = 4,   // arg: microseconds
  inject_return = 5,  // arg: the value returned
};

// Session control (not hot; not from callbacks). 0 or -errno.
int start(const Options &opts);  // -EBUSY if already started
// In the child of a fork() made while a session was open (the child
// forgets that session: it records nothing): a session of the child's own,
// with the parent's options but `dir`. Threads (the one that forked) record
// into it; tracers that were running keep running. -ENOTCONN when no
// session was open at the fork (or it was already called).
int start_after_fork(const char *dir);
// stop: no thread may be inside entry/exit/... (nor use a Writer* it got
// before) when stop is called: tracers unregister their ops first (sled
// waits for the callbacks in flight), then call stop, which unmaps the
// buffers. -ENOTCONN without a session.
int stop();      // drains everything, writes symbols + footer
int snapshot();  // writes every buffer now
bool active();
// snapshot() from where it may not run (a sled callback: a trigger): the
// writer thread takes the snapshot within a few milliseconds. Lock-free.
void request_snapshot();
// Bytes mapped per thread buffer in the open session (<= buffer_bytes
// rounded down to pages; start refuses a bound under 4 KiB with -EINVAL),
// between two PROT_NONE guard pages (address space only); 0 without a
// session.
size_t thread_buffer_bytes();
// A named blob stored in the trace at stop and at each snapshot (e.g. the
// profile tracer's table: section "profile"); a later call with the same
// name replaces it. -ENOTCONN without a session.
int add_section(const std::string &name, const std::string &bytes);

// Global recording switch (traceon/traceoff); on at start.
void set_enabled(bool on);
bool enabled();

struct Stats {
  uint64_t events, lost, bytes_written, threads;
};
Stats stats();

// Per-thread writer: nullptr when no session is active, recording is off,
// or the thread's buffer could not be mapped. The Writer * is the start of
// the thread's buffer mapping. Get it anew in each callback: do not keep it.
struct Writer;
Writer *thread_writer();

// Raw timestamp (TSC / cntvct / CLOCK_MONOTONIC ns): converted at read time.
uint64_t now();
// A difference of two now() values in nanoseconds, with the clock of the
// current (or, after stop, the last) session; the raw value itself when no
// session ever started. Not hot (the profile tracer converts at read time).
uint64_t duration_ns(uint64_t raw_delta);

void entry(Writer *w, uint64_t ts, uintptr_t ip, uintptr_t parent_ip);
// unwound: the call was left by an exception, longjmp or thread exit.
void exit(Writer *w, uint64_t ts, uintptr_t ip, bool unwound);
// Follow an entry / an exit of the same thread immediately.
void args(Writer *w, const uint64_t *values, unsigned n);  // n <= 8
void retval(Writer *w, uint64_t value);
void stack(Writer *w, uint64_t ts, const uintptr_t *ips, unsigned n);  // n <= 64
void marker(Writer *w, uint64_t ts, uintptr_t ip, Marker kind, uint64_t arg);

}  // namespace sled::rec
