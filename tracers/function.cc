// The `function` tracer: one entry event (timestamp, thread, function,
// caller) per traced call, through a plain sled_ops. Owns that ops and
// nothing else; start/stop run under trace_api's mutex (tracer.h). The
// callback is the hot path: one writer lookup, one timestamp, one record;
// no sled call, no lookup of the function's name (the trace carries the
// symbol tables), no allocation.
#include <cerrno>
#include <cstring>

#include "sled/sled.h"
#include "tracers/ops_filter.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers {
namespace {

sled_ops g_ops;

void on_entry(uintptr_t ip, uintptr_t parent_ip, sled_ops *, sled_regs *) {
  rec::Writer *w = rec::thread_writer();  // nullptr while recording is off
  if (!w) return;
  rec::entry(w, rec::now(), ip, parent_ip);
}

int start(const Options &opts) {
  memset(&g_ops, 0, sizeof g_ops);
  g_ops.func = on_entry;
  if (int rc = apply_filters(&g_ops, opts); rc < 0) return rc;
  return register_or_forget(&g_ops, "function");
}

int stop() {
  int rc = sled_unregister_ops(&g_ops);
  if (rc < 0) set_error(std::string("function: ") + sled_last_error());
  return rc;
}

sled_ops *ops() { return &g_ops; }

}  // namespace

const Tracer function_tracer = {"function", start, stop, nullptr, ops};

}  // namespace sled::tracers
