// The `function_graph` tracer: entry and exit events through a graph ops
// (graph.h), optionally followed by the first N integer arguments (after
// the entry) and the return value (after the exit). Owns that graph ops;
// start/stop run under trace_api's mutex (tracer.h).
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

#include "sled/graph.h"
#include "tracers/ops_filter.h"
#include "tracers/options.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers {
namespace {

sled_graph_ops g_gops;
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

const char *const k_keys[] = {"args", "retval", "depth", nullptr};

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
  if (int rc = sled_graph_supported(); rc < 0)
    return set_error(std::string("function_graph: ") + sled_last_error()), rc;

  memset(&g_gops, 0, sizeof g_gops);
  g_nargs.store(static_cast<unsigned>(nargs), std::memory_order_relaxed);
  g_gops.entry = nargs ? on_entry_args : on_entry;
  g_gops.ret = retval ? on_return_retval : on_return;
  if (int rc = apply_filters(&g_gops.ops, opts); rc < 0) return rc;
  // Without depth= the default is put back: an earlier run's depth would
  // otherwise stay for threads that start later.
  if (int rc = sled_graph_set_depth(static_cast<unsigned>(depth)); rc < 0) {
    set_error(std::string("function_graph: depth: ") + sled_last_error());
    forget_filters(&g_gops.ops);
    return rc;
  }
  if (int rc = sled_register_graph_ops(&g_gops); rc < 0) {
    set_error(std::string("function_graph: ") + sled_last_error());
    forget_filters(&g_gops.ops);
    return rc;
  }
  return 0;
}

int stop() {
  int rc = sled_unregister_graph_ops(&g_gops);
  if (rc < 0) set_error(std::string("function_graph: ") + sled_last_error());
  return rc;
}

sled_ops *ops() { return &g_gops.ops; }

}  // namespace

const Tracer function_graph_tracer = {"function_graph", start, stop, k_keys, ops};

}  // namespace sled::tracers
