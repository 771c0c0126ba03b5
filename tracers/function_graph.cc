// The `function_graph` tracer: entry and exit events through a graph ops
// (graph.h), optionally followed by the first N integer arguments (after
// the entry) and the return value (after the exit). Owns that graph ops;
// start/stop run under trace_api's mutex (tracer.h).
//
// capture=PATTERNS limits args= and retval= to those functions: a second
// graph ops (g_capture, the capturing callbacks) traces them, and the main
// one (plain callbacks) has them in its notrace set, so each function has
// one ops and no callback tests a set per call. The captured functions are
// traced even outside filter= (uftrace's -A names the functions to show).
//
// Hot path: the callbacks are chosen at start for the options given (plain
// / with args / with retval), so none tests an option per call. Each does
// one writer lookup, one timestamp and one or two records; no sled call
// besides sled_regs_arg, no name lookup, no allocation. An entry that is
// not recorded (recording off, no buffer) declines to hook the return, so
// every recorded exit has its recorded entry (except across a traceoff
// between the two, which stops all recording).
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "sled/graph.h"
#include "tracers/ops_filter.h"
#include "tracers/options.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers {
namespace {

sled_graph_ops g_gops;
sled_graph_ops g_capture;  // registered only with capture=
// capture= of this run ("" without): kept in the main ops' notrace set
// across live changes (notrace_keep).
std::string g_capture_patterns;
// The argument count of this run, read by on_entry_args. Written before
// sled_register_graph_ops, whose patching and grace period order it before
// any callback of this run; relaxed is enough (and is a plain load), the
// atomic only keeps the race detector informed.
std::atomic<unsigned> g_nargs{0};

int on_entry(uintptr_t ip, uintptr_t parent_ip, sled_graph_ops *, sled_regs *, uint64_t *) {
  rec::Writer *w = rec::thread_writer();
  if (!w) return 0;
  rec::entry(w, rec::now(), ip, parent_ip);
  return 1;
}

int on_entry_args(uintptr_t ip, uintptr_t parent_ip, sled_graph_ops *, sled_regs *regs,
                  uint64_t *) {
  rec::Writer *w = rec::thread_writer();
  if (!w) return 0;
  rec::entry(w, rec::now(), ip, parent_ip);
  uint64_t values[8];
  unsigned n = g_nargs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < n; ++i) values[i] = sled_regs_arg(regs, i);
  rec::args(w, values, n);
  return 1;
}

void on_return(const sled_graph_ret *ret, sled_graph_ops *) {
  rec::Writer *w = rec::thread_writer();
  if (!w) return;
  rec::exit(w, rec::now(), ret->ip, ret->unwound != 0);
}

void on_return_retval(const sled_graph_ret *ret, sled_graph_ops *) {
  rec::Writer *w = rec::thread_writer();
  if (!w) return;
  rec::exit(w, rec::now(), ret->ip, ret->unwound != 0);
  rec::retval(w, ret->retval[0]);
}

const char *const k_keys[] = {"args", "retval", "depth", "capture", nullptr};

// notrace for the main ops: the user's, plus the captured functions.
std::string main_notrace(const std::string *notrace) {
  std::string out = notrace ? *notrace : "";
  if (!g_capture_patterns.empty()) out += (out.empty() ? "" : ",") + g_capture_patterns;
  return out;
}

// Sets both ops' patterns and registers them (the capturing one first):
// all or nothing.
int register_all(const Options &opts) {
  const std::string *filter = find(opts, "filter"), *notrace = find(opts, "notrace");
  if (!g_capture_patterns.empty()) {
    if (int rc = set_patterns(&g_capture.ops, &g_capture_patterns, notrace); rc < 0) {
      set_error("function_graph: capture=" + g_capture_patterns + ": " + sled_last_error());
      return rc;
    }
    if (int rc = sled_register_graph_ops(&g_capture); rc < 0) {
      set_error(std::string("function_graph: capture: ") + sled_last_error());
      forget_filters(&g_capture.ops);
      return rc;
    }
  }
  std::string main_not = main_notrace(notrace);
  int rc = set_patterns(&g_gops.ops, filter, main_not.empty() ? nullptr : &main_not);
  if (rc == 0) {
    rc = sled_register_graph_ops(&g_gops);
    if (rc < 0) {
      set_error(std::string("function_graph: ") + sled_last_error());
      forget_filters(&g_gops.ops);
    }
  }
  if (rc < 0 && !g_capture_patterns.empty()) (void)sled_unregister_graph_ops(&g_capture);
  return rc;
}

int start(const Options &opts) {
  std::string error;
  uint64_t nargs = 0, depth = SLED_GRAPH_DEFAULT_DEPTH;
  bool retval = false;
  // Every value is checked before anything changes.
  if (const std::string *v = find(opts, "args"); v && parse_uint("args", *v, 0, 8, &nargs, &error))
    return set_error("function_graph: " + error), -EINVAL;
  if (const std::string *v = find(opts, "retval"); v && parse_bool("retval", *v, &retval, &error))
    return set_error("function_graph: " + error), -EINVAL;
  if (const std::string *v = find(opts, "depth");
      v && parse_uint("depth", *v, 1, 65536, &depth, &error))
    return set_error("function_graph: " + error), -EINVAL;
  const std::string *capture = find(opts, "capture");
  if (capture && capture->find_first_not_of(", ") == std::string::npos)
    return set_error("function_graph: capture= names no function"), -EINVAL;
  if (capture && !nargs && !retval)
    return set_error("function_graph: capture= needs args= or retval="), -EINVAL;
  if (int rc = sled_graph_supported(); rc < 0)
    return set_error(std::string("function_graph: ") + sled_last_error()), rc;

  memset(&g_gops, 0, sizeof g_gops);
  memset(&g_capture, 0, sizeof g_capture);
  g_capture_patterns = capture ? *capture : "";
  g_nargs.store(static_cast<unsigned>(nargs), std::memory_order_relaxed);
  sled_graph_ops &capturing = capture ? g_capture : g_gops;
  capturing.entry = nargs ? on_entry_args : on_entry;
  capturing.ret = retval ? on_return_retval : on_return;
  if (capture) {
    g_gops.entry = on_entry;
    g_gops.ret = on_return;
  }
  // Without depth= the default is put back: an earlier run's depth would
  // otherwise stay for threads that start later.
  if (int rc = sled_graph_set_depth(static_cast<unsigned>(depth)); rc < 0) {
    set_error(std::string("function_graph: depth: ") + sled_last_error());
    return rc;
  }
  if (int rc = register_all(opts); rc < 0) {
    g_capture_patterns.clear();
    return rc;
  }
  return 0;
}

int stop() {
  int rc = sled_unregister_graph_ops(&g_gops);
  if (rc < 0) set_error(std::string("function_graph: ") + sled_last_error());
  if (!g_capture_patterns.empty()) {
    int rc2 = sled_unregister_graph_ops(&g_capture);
    if (rc2 < 0 && rc >= 0) {
      set_error(std::string("function_graph: capture: ") + sled_last_error());
      rc = rc2;
    }
    g_capture_patterns.clear();
  }
  return rc;
}

const char *notrace_keep() { return g_capture_patterns.c_str(); }

sled_ops *ops() { return &g_gops.ops; }

}  // namespace

const Tracer function_graph_tracer = {"function_graph", start, stop, k_keys, ops, notrace_keep};

}  // namespace sled::tracers
