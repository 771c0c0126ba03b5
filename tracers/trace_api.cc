// include/sled/trace.h: the recording session and the tracer, trigger and
// stats calls (sled_inject_* and sled_profile_read live in inject.cc and
// profile.cc). Owns the session state, guarded by one mutex that every call
// takes (never held across a callback: callbacks never take it). Must not
// be called from a sled callback: each call first asks sled whether the
// thread is inside one (sled_get_stats answers -EDEADLK there) and returns
// -EDEADLK without waiting, since a thread changing tracing may hold sled's
// lock while waiting for that callback to end.
#include <cerrno>
#include <cstring>
#include <mutex>

#include "sled/trace.h"
#include "tracers/c_boundary.h"
#include "tracers/options.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"
#include "tracers/tracer_table.h"
#include "tracers/triggers.h"

namespace sled::tracers {
namespace {

std::mutex g_mu;
// Under g_mu.
bool g_open = false;
constexpr int k_max_tracers = 16;
bool g_running[k_max_tracers] = {};  // by index in tracer_table
bool g_have_final_stats = false;
rec::Stats g_final_stats{};  // the last closed session's

int fail(int rc, const std::string &message) {
  set_error(message);
  return rc;
}

bool in_callback() {
  sled_stats s;
  return sled_get_stats(&s) == -EDEADLK;
}

#define SLED_TRACE_ENTER(what)                                                         \
  do {                                                                                 \
    if (in_callback())                                                                 \
      return fail(-EDEADLK, std::string(what) + ": not allowed from a sled callback"); \
  } while (0)

int find_tracer(const char *name) {
  for (int i = 0; tracer_table[i]; ++i)
    if (i < k_max_tracers && std::string(tracer_table[i]->name) == name) return i;
  return -1;
}

std::string tracer_names() {
  std::string names;
  for (int i = 0; tracer_table[i]; ++i) names += std::string(i ? ", " : "") + tracer_table[i]->name;
  return names;
}

const char *const k_common_keys[] = {"filter", "notrace", nullptr};
constexpr size_t k_min_buffer = 4096;  // the recorder's smallest ring
const char *const k_open_keys[] = {"dir", "buffer", "mode", "clock", nullptr};
const char *const k_modes[] = {"drop", "overwrite", nullptr};
const char *const k_clocks[] = {"auto", "tsc", "monotonic", nullptr};

int parse_open_options(const char *text, rec::Options *out) {
  Options words;
  std::string error;
  if (parse_words(text, words, &error) < 0 ||
      check_keys(words, k_open_keys, nullptr, "sled_trace_open", &error) < 0)
    return fail(-EINVAL, "sled_trace_open: " + error);
  rec::Options o;
  if (const std::string *v = find(words, "dir")) {
    if (v->empty()) return fail(-EINVAL, "sled_trace_open: dir= is empty");
    o.dir = *v;
  }
  if (const std::string *v = find(words, "buffer")) {
    if (parse_size("buffer", *v, &o.buffer_bytes, &error) < 0)
      return fail(-EINVAL, "sled_trace_open: " + error);
    if (o.buffer_bytes < k_min_buffer)
      return fail(-EINVAL, "sled_trace_open: buffer=" + *v + " is under 4K (one page)");
  }
  unsigned index = 0;
  if (const std::string *v = find(words, "mode")) {
    if (parse_choice("mode", *v, k_modes, &index, &error) < 0)
      return fail(-EINVAL, "sled_trace_open: " + error);
    o.mode = index == 0 ? rec::Mode::drop_newest : rec::Mode::overwrite_oldest;
  }
  if (const std::string *v = find(words, "clock")) {
    if (parse_choice("clock", *v, k_clocks, &index, &error) < 0)
      return fail(-EINVAL, "sled_trace_open: " + error);
    o.clock = index == 0   ? rec::ClockKind::automatic
              : index == 1 ? rec::ClockKind::tsc
                           : rec::ClockKind::monotonic;
  }
  *out = std::move(o);
  return 0;
}

// Stops every running tracer and the triggers. Under g_mu. The first
// failure is returned (and its message kept); the others still run.
int stop_everything() {
  int first = 0;
  for (int i = 0; tracer_table[i] && i < k_max_tracers; ++i) {
    if (!g_running[i]) continue;
    int rc = tracer_table[i]->stop();
    if (rc < 0 && rc != -ENOENT) {
      if (!first) first = rc;
      continue;  // still registered: it stays "running"
    }
    g_running[i] = false;
  }
  if (int rc = trigger_clear(); rc < 0 && !first) first = rc;
  return first;
}

// A marker for sled_trace_on/off (ip 0: from the API, not a function).
void api_marker(rec::Marker kind) {
  if (rec::Writer *w = rec::thread_writer()) rec::marker(w, rec::now(), 0, kind, 0);
}

}  // namespace
}  // namespace sled::tracers

using namespace sled::tracers;
namespace rec = sled::rec;

extern "C" {

int sled_trace_open(const char *options) try {
  SLED_TRACE_ENTER("sled_trace_open");
  rec::Options o;
  if (int rc = parse_open_options(options, &o); rc < 0) return rc;
  std::lock_guard lock(g_mu);
  if (g_open) return fail(-EBUSY, "sled_trace_open: a session is already open");
  if (int rc = rec::start(o); rc < 0)
    return fail(
        rc, "sled_trace_open: the recorder could not start in '" + o.dir + "': " + strerror(-rc));
  g_open = true;
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trace_close(void) try {
  SLED_TRACE_ENTER("sled_trace_close");
  std::lock_guard lock(g_mu);
  if (!g_open) return fail(-ENOTCONN, "sled_trace_close: no session is open");
  // Tracers and triggers first: the recorder unmaps the buffers at stop,
  // so no callback may still be writing (sled_unregister_ops returns after
  // a grace period). If one could not be unregistered, the session stays
  // open with recording off, and the call fails: closing it would unmap
  // memory a callback may still write.
  if (int rc = stop_everything(); rc < 0) {
    rec::set_enabled(false);
    return rc;
  }
  int rc = rec::stop();
  g_open = false;
  g_final_stats = rec::stats();
  g_have_final_stats = true;
  return rc;
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trace_snapshot(void) try {
  SLED_TRACE_ENTER("sled_trace_snapshot");
  std::lock_guard lock(g_mu);
  if (!g_open) return fail(-ENOTCONN, "sled_trace_snapshot: no session is open");
  return rec::snapshot();
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trace_on(void) try {
  SLED_TRACE_ENTER("sled_trace_on");
  std::lock_guard lock(g_mu);
  if (!g_open) return fail(-ENOTCONN, "sled_trace_on: no session is open");
  if (!rec::enabled()) {
    rec::set_enabled(true);
    api_marker(rec::Marker::trace_on);
  }
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trace_off(void) try {
  SLED_TRACE_ENTER("sled_trace_off");
  std::lock_guard lock(g_mu);
  if (!g_open) return fail(-ENOTCONN, "sled_trace_off: no session is open");
  if (rec::enabled()) {
    api_marker(rec::Marker::trace_off);
    rec::set_enabled(false);
  }
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_tracer_start(const char *tracer, const char *options) try {
  SLED_TRACE_ENTER("sled_tracer_start");
  if (!tracer) return fail(-EINVAL, "sled_tracer_start: no tracer named (NULL)");
  int index = find_tracer(tracer);
  if (index < 0)
    return fail(-EINVAL, std::string("sled_tracer_start: unknown tracer '") + tracer +
                             "' (known: " + tracer_names() + ")");
  const Tracer &t = *tracer_table[index];
  Options opts;
  std::string error;
  if (parse_words(options, opts, &error) < 0 ||
      check_keys(opts, k_common_keys, t.extra_keys, t.name, &error) < 0)
    return fail(-EINVAL, std::string("sled_tracer_start: ") + error);
  std::lock_guard lock(g_mu);
  if (!g_open) return fail(-ENOTCONN, "sled_tracer_start: no session is open (sled_trace_open)");
  if (g_running[index])
    return fail(-EALREADY, std::string("sled_tracer_start: ") + t.name + " is already running");
  int rc = t.start(opts);
  if (rc < 0) return rc;  // the tracer set the message
  g_running[index] = true;
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_tracer_stop(const char *tracer) try {
  SLED_TRACE_ENTER("sled_tracer_stop");
  if (!tracer) return fail(-EINVAL, "sled_tracer_stop: no tracer named (NULL)");
  int index = find_tracer(tracer);
  if (index < 0)
    return fail(-EINVAL, std::string("sled_tracer_stop: unknown tracer '") + tracer +
                             "' (known: " + tracer_names() + ")");
  std::lock_guard lock(g_mu);
  if (!g_running[index])
    return fail(-ENOENT, std::string("sled_tracer_stop: ") + tracer + " is not running");
  int rc = tracer_table[index]->stop();
  if (rc < 0 && rc != -ENOENT) return rc;
  g_running[index] = false;
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

// Both live set changes: the running tracer's ops, sled_set_filter's rules.
static int set_tracer_patterns(const char *call, const char *tracer, const char *patterns,
                               int (*set)(sled_ops *, const char *, int)) {
  SLED_TRACE_ENTER(call);
  if (!tracer) return fail(-EINVAL, std::string(call) + ": no tracer named (NULL)");
  int index = find_tracer(tracer);
  if (index < 0)
    return fail(-EINVAL, std::string(call) + ": unknown tracer '" + tracer +
                             "' (known: " + tracer_names() + ")");
  std::lock_guard lock(g_mu);
  if (!g_running[index])
    return fail(-ENOENT, std::string(call) + ": " + tracer + " is not running");
  std::string set_to = patterns ? patterns : "";
  const Tracer &t = *tracer_table[index];
  if (set == sled_set_notrace && t.notrace_keep && *t.notrace_keep())
    set_to += (set_to.empty() ? "" : ",") + std::string(t.notrace_keep());
  int rc = set(t.ops(), set_to.c_str(), 1);
  if (rc < 0) return fail(rc, std::string(call) + ": " + sled_last_error());
  return 0;
}

int sled_tracer_set_filter(const char *tracer, const char *patterns) try {
  return set_tracer_patterns("sled_tracer_set_filter", tracer, patterns, sled_set_filter);
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_tracer_set_notrace(const char *tracer, const char *patterns) try {
  return set_tracer_patterns("sled_tracer_set_notrace", tracer, patterns, sled_set_notrace);
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trigger_add(const char *spec) try {
  SLED_TRACE_ENTER("sled_trigger_add");
  if (!spec) return fail(-EINVAL, "sled_trigger_add: no spec (NULL)");
  std::lock_guard lock(g_mu);
  return trigger_add(spec);
}
SLED_TRACE_CATCH(-ENOMEM)

int sled_trigger_clear(void) try {
  SLED_TRACE_ENTER("sled_trigger_clear");
  std::lock_guard lock(g_mu);
  return trigger_clear();
}
SLED_TRACE_CATCH(-ENOMEM)

const char *sled_trace_last_error(void) { return last_error(); }

int sled_trace_get_stats(sled_trace_stats *out) try {
  if (!out) return fail(-EINVAL, "sled_trace_get_stats: NULL out");
  *out = sled_trace_stats{};
  SLED_TRACE_ENTER("sled_trace_get_stats");
  std::lock_guard lock(g_mu);
  rec::Stats s;
  if (g_open) {
    s = rec::stats();
  } else if (g_have_final_stats) {
    s = g_final_stats;
  } else {
    return fail(-ENOTCONN, "sled_trace_get_stats: no session was opened");
  }
  *out = sled_trace_stats{s.events, s.lost, s.bytes_written, s.threads};
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)

}  // extern "C"
