/* sled — tracers and recording, driven from inside a program (the analogue
 * of XRay's __xray_log_*): record one request and nothing else.
 *
 * One recording session per process writes a trace directory (the format:
 * docs/trace-format.md). Tracers feed it: "function" (entry events),
 * "function_graph" (entry and exit events with durations), "profile"
 * (per-function tables, no event stream), and the triggers and fault
 * injections below. Options are "key=value" words separated by spaces;
 * pattern lists inside a value are separated by commas (sled.h's globs).
 *
 * Every call returns 0 or a negative errno code (sled_trace_last_error
 * says more); an unknown tracer, option or malformed value is -EINVAL and
 * changes nothing. None may be called from a sled callback (-EDEADLK). */
#ifndef SLED_TRACE_H
#define SLED_TRACE_H

#include "sled/sled.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the recording session. Options:
 *   dir=PATH              trace directory, created (default: sled.trace)
 *   buffer=SIZE           per-thread memory bound in bytes, K/M/G suffixes
 *                         allowed (default 4M)
 *   mode=drop|overwrite   when a thread's buffer is full: drop the newest
 *                         events (counted as lost; default) or overwrite the
 *                         oldest (a flight recorder: written at snapshot and
 *                         close)
 *   clock=auto|tsc|monotonic   (auto: the TSC / cntvct when invariant)
 * -EBUSY if a session is open. */
SLED_API int sled_trace_open(const char *options);
/* Stops every tracer, removes the triggers, drains every buffer, writes
 * the footer. -ENOTCONN without a session. If a tracer cannot be stopped,
 * the session stays open with recording off (its callbacks may still
 * run) and the error is returned. */
SLED_API int sled_trace_close(void);
/* Writes every buffer out now (the "snapshot" trigger). */
SLED_API int sled_trace_snapshot(void);
/* Global recording switch (the traceon/traceoff triggers): while off,
 * tracers record nothing; on by default when a session opens. Each records
 * a marker (at no function). -ENOTCONN without a session. */
SLED_API int sled_trace_on(void);
SLED_API int sled_trace_off(void);

/* Starts a tracer in the open session (-ENOTCONN without one; -EALREADY if
 * running). Options of every tracer: filter=PATTERNS notrace=PATTERNS.
 *   function_graph:  args=N (capture the first N integer arguments, 0..8)
 *                    retval=0|1 (capture the integer return value)
 *                    depth=N (hook at most N nested calls per thread)
 *                    capture=PATTERNS (args= and retval= for these
 *                    functions only; the others are traced without them.
 *                    They are traced even outside filter=, and stay out
 *                    of sled_tracer_set_notrace's changes to the rest)
 *   profile:         (none else)
 * The profile tracer's tables are written to the trace at close. */
SLED_API int sled_tracer_start(const char *tracer, const char *options);
SLED_API int sled_tracer_stop(const char *tracer);
/* Changes a running tracer's filter or notrace set live (sled_set_filter
 * with reset on its ops): PATTERNS as in filter= (commas or spaces); "" or
 * NULL clears the set. -ENOENT if the tracer is not running or a pattern
 * matches no function, -EINVAL if one is malformed: the set is then
 * unchanged. */
SLED_API int sled_tracer_set_filter(const char *tracer, const char *patterns);
SLED_API int sled_tracer_set_notrace(const char *tracer, const char *patterns);

/* Triggers, like ftrace's function probes: "PATTERN:ACTION[:COUNT]" with
 * ACTION traceon | traceoff | stacktrace | snapshot; COUNT limits how many
 * times it fires (default: unlimited). Fires on entry of every matching
 * function. Works while any tracer records. */
SLED_API int sled_trigger_add(const char *spec);
SLED_API int sled_trigger_clear(void);

/* Fault injection: "PATTERN:ACTION[:WHEN]" with
 *   ACTION  delay=USEC          sleep (busy-wait under 50 us) before the body
 *           return=VALUE        skip the body, return VALUE (integer)
 *   WHEN    every=N             every Nth call (default: every call)
 *           prob=P              with probability P in (0,1]
 * Works with or without a recording session; each injection is recorded
 * as an event when one is open. */
SLED_API int sled_inject_add(const char *spec);
SLED_API int sled_inject_clear(void);

/* The profile tracer's table so far, merged across threads. */
typedef struct sled_profile_entry {
  uintptr_t ip;
  const char *name; /* valid during the callback */
  uint64_t calls;
  uint64_t total_ns;
  uint64_t self_ns;
  uint64_t max_ns;
} sled_profile_entry;
SLED_API int sled_profile_read(int (*fn)(const sled_profile_entry *e, void *arg), void *arg);

/* The calling thread's last failure of a call above, in words. */
SLED_API const char *sled_trace_last_error(void);

/* Events recorded and lost so far, all threads; after sled_trace_close,
 * the closed session's totals (-ENOTCONN if none was ever opened). */
typedef struct sled_trace_stats {
  uint64_t events;
  uint64_t lost;
  uint64_t bytes_written;
  uint64_t threads;
} sled_trace_stats;
SLED_API int sled_trace_get_stats(sled_trace_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SLED_TRACE_H */
