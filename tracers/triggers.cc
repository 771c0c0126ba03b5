// Triggers, like ftrace's function probes: one plain sled_ops per
// sled_trigger_add, tracing the functions its pattern selects, whose
// callback fires an action on their entry:
//   traceon / traceoff  flip the recorder's switch, with a marker in the
//                       stream where it happened (after turning on, before
//                       turning off, so both are recorded)
//   stacktrace          the call stack into the trace (rec::stack)
//   snapshot            a marker, then rec::request_snapshot: the recorder's
//                       writer thread writes the buffers out (rec::snapshot
//                       takes the recorder's locks: never from a callback)
// Owns the trigger list (guarded by trace_api's mutex). Must not: allocate,
// lock or call sled from a callback.
//
// Stack walk: _Unwind_Backtrace (the .eh_frame unwinder), not a frame-
// pointer walk. The instrumented code is usually built with -O2, which
// omits frame pointers on x86_64, so a frame-pointer walk would skip or
// invent callers, and following a non-pointer rbp may fault; the unwinder
// follows CFI, which sled's trampolines and every compiled frame carry,
// and simply stops at a frame without it. It costs microseconds per walk:
// fine for a trigger, not for a tracer. Under function_graph the walk goes
// through hooked callers: libsled interposes _Unwind_Backtrace and puts the
// real return addresses back for it (docs/graph.md).
#include "tracers/triggers.h"

#include <unwind.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "sled/sled.h"
#include "tracers/ops_filter.h"
#include "tracers/options.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers {
namespace {

enum class Action { traceon, traceoff, stacktrace, snapshot };

struct Trigger {
  sled_ops ops;  // private_data = this
  Action action;
  bool limited;
  // Firings left when limited. Decremented with a relaxed CAS that never
  // goes below 0: the count is the only thing shared through it (what a
  // firing does is ordered by the recorder's own atomics), and the RMW
  // alone guarantees that exactly COUNT callers win, on any thread.
  std::atomic<int64_t> remaining;
};

// Under trace_api's mutex. Never destroyed: the control thread may still
// clear triggers while the process runs its static destructors at exit.
std::vector<std::unique_ptr<Trigger>> &g_triggers = *new std::vector<std::unique_ptr<Trigger>>;

// ---- the callback -----------------------------------------------------------
constexpr unsigned k_max_stack = 64;   // rec::stack's bound
constexpr unsigned k_own_frames = 16;  // callback + sled's dispatch, skipped

struct Walk {
  uintptr_t ips[k_max_stack + k_own_frames];
  unsigned n;
};

_Unwind_Reason_Code collect_frame(struct _Unwind_Context *ctx, void *arg) {
  Walk *walk = static_cast<Walk *>(arg);
  if (walk->n == sizeof walk->ips / sizeof walk->ips[0]) return _URC_END_OF_STACK;
  uintptr_t ip = _Unwind_GetIP(ctx);
  if (ip == 0) return _URC_END_OF_STACK;  // the outermost frame
  walk->ips[walk->n++] = ip;
  return _URC_NO_REASON;
}

// ips[0] = the traced function's entry, ips[1] = its return address, then
// the return addresses of the frames above. The walk starts in this
// callback: sled's own frames are skipped up to the traced function's
// return address (parent_ip); if the unwinder never reaches it, only the
// function and its caller are recorded.
void record_stack(rec::Writer *w, uintptr_t ip, uintptr_t parent_ip) {
  Walk walk;
  walk.n = 0;
  _Unwind_Backtrace(collect_frame, &walk);
  uintptr_t out[k_max_stack];
  unsigned n = 0;
  out[n++] = ip;
  unsigned i = 0;
  while (i < walk.n && walk.ips[i] != parent_ip) ++i;
  if (i == walk.n) {
    out[n++] = parent_ip;
  } else {
    for (; i < walk.n && n < k_max_stack; ++i) out[n++] = walk.ips[i];
  }
  rec::stack(w, rec::now(), out, n);
}

void on_hit(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *) {
  Trigger *t = static_cast<Trigger *>(ops->private_data);
  if (t->limited) {
    int64_t left = t->remaining.load(std::memory_order_relaxed);
    do {
      if (left <= 0) return;
    } while (!t->remaining.compare_exchange_weak(left, left - 1, std::memory_order_relaxed));
  }
  rec::Writer *w;
  switch (t->action) {
    case Action::traceon:
      rec::set_enabled(true);
      if ((w = rec::thread_writer())) rec::marker(w, rec::now(), ip, rec::Marker::trace_on, 0);
      break;
    case Action::traceoff:
      if ((w = rec::thread_writer())) rec::marker(w, rec::now(), ip, rec::Marker::trace_off, 0);
      rec::set_enabled(false);
      break;
    case Action::stacktrace:
      if ((w = rec::thread_writer())) record_stack(w, ip, parent_ip);
      break;
    case Action::snapshot:
      if ((w = rec::thread_writer())) rec::marker(w, rec::now(), ip, rec::Marker::snapshot, 0);
      rec::request_snapshot();  // the writer thread snapshots within milliseconds
      break;
  }
}

// ---- parsing ----------------------------------------------------------------
const char *const k_actions[] = {"traceon", "traceoff", "stacktrace", "snapshot", nullptr};

// Splits from the right, so that C++ patterns keep their "::".
int parse_spec(const std::string &spec, std::string *pattern, Action *action, int64_t *count) {
  std::string rest = spec;
  *count = -1;
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && colon + 1 < rest.size() &&
      rest.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    std::string error;
    uint64_t n = 0;
    if (parse_uint("count", rest.substr(colon + 1), 1, INT64_MAX, &n, &error) < 0)
      return set_error("trigger '" + spec + "': " + error), -EINVAL;
    *count = static_cast<int64_t>(n);
    rest.resize(colon);
    colon = rest.rfind(':');
  }
  if (colon == std::string::npos || colon == 0)
    return set_error("trigger '" + spec + "' is not PATTERN:ACTION[:COUNT]"), -EINVAL;
  std::string error;
  unsigned index = 0;
  if (parse_choice("action", rest.substr(colon + 1), k_actions, &index, &error) < 0)
    return set_error("trigger '" + spec + "': " + error), -EINVAL;
  *action = static_cast<Action>(index);
  *pattern = rest.substr(0, colon);
  return 0;
}

}  // namespace

int trigger_add(const std::string &spec) {
  std::string pattern;
  Action action;
  int64_t count;
  if (int rc = parse_spec(spec, &pattern, &action, &count); rc < 0) return rc;
  auto t = std::make_unique<Trigger>();
  memset(&t->ops, 0, sizeof t->ops);
  t->ops.func = on_hit;
  t->ops.private_data = t.get();
  t->action = action;
  t->limited = count >= 0;
  t->remaining.store(count, std::memory_order_relaxed);  // published by the register
  g_triggers.reserve(g_triggers.size() + 1);             // no failure after the register
  if (int rc = set_patterns(&t->ops, &pattern, nullptr); rc < 0) return rc;
  if (int rc = register_or_forget(&t->ops, ("trigger '" + spec + "'").c_str()); rc < 0) return rc;
  g_triggers.push_back(std::move(t));
  return 0;
}

int trigger_clear() {
  int first = 0;
  std::vector<std::unique_ptr<Trigger>> kept;
  kept.reserve(g_triggers.size());  // nothing throws once unregistering began
  for (auto &t : g_triggers) {
    int rc = sled_unregister_ops(&t->ops);
    if (rc < 0 && rc != -ENOENT) {
      // Still registered: its callback may run, so it must stay allocated.
      if (!first) {
        set_error(std::string("trigger_clear: ") + sled_last_error());
        first = rc;
      }
      kept.push_back(std::move(t));
    }
  }
  g_triggers = std::move(kept);
  return first;
}

}  // namespace sled::tracers
