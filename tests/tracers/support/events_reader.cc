// read_trace() over the real trace: the directory written by the recorder,
// read by the reader library (sled_reader). Functions are named from the
// trace's own symbol table (symbol_at), so the tests check it too; stack
// frames and callers, which may lie in uninstrumented driver code (no
// site, so no symbol in the trace), are named by dladdr.
#include "reader.h"
#include "trace_events.h"

namespace trc_test {

static_assert(static_cast<int>(Kind::marker) == static_cast<int>(sled::reader::EventKind::marker) &&
              static_cast<int>(Kind::stack) == static_cast<int>(sled::reader::EventKind::stack));

int64_t snapshots_requested() { return -1; }

bool read_trace(const std::string &dir, std::vector<Thread> *out, std::string *error) {
  auto trace = sled::reader::Trace::open(dir, {.strict = true});
  if (!trace.ok()) {
    *error = trace.error;
    return false;
  }
  out->clear();
  for (uint32_t tid : trace->thread_ids()) {
    auto events = trace->events(tid);
    if (!events.ok()) {
      *error = events.error;
      return false;
    }
    Thread t;
    t.tid = tid;
    for (const sled::reader::Event &r : *events) {
      Event e;
      e.kind = static_cast<Kind>(r.kind);
      e.tid = r.tid;
      e.ts = r.ns;
      e.ip = r.ip;
      e.parent_ip = r.parent_ip;
      e.unwound = r.unwound;
      e.marker = r.marker;
      e.values = r.values;
      if (e.kind == Kind::entry || e.kind == Kind::exit || e.kind == Kind::marker) {
        const sled::reader::Symbol *s = trace->symbol_at(r.ip);
        e.name = r.ip == 0 ? "-" : s ? s->name : "?";
      }
      if (e.kind == Kind::stack)
        for (uint64_t ip : r.values) e.names.push_back(function_containing(ip));
      if (e.kind == Kind::args || e.kind == Kind::retval) e.ip = 0;
      t.events.push_back(std::move(e));
    }
    if (!t.events.empty()) out->push_back(std::move(t));
  }
  return true;
}

}  // namespace trc_test
