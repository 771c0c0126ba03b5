// Builds call trees from a trace's per-thread event streams (exits match
// the innermost open entry, as the recorder writes them), and the profile
// table from them or from the profile tracer's section.
#include "trace_model.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace sled::cli {
namespace {

// A replay line for event e at this depth (call: its index in the calls).
Line call_line(uint32_t tid, const reader::Event &e, unsigned depth, size_t call) {
  Line l;
  l.tid = tid;
  l.ns = e.ns;
  l.kind = e.kind;
  l.depth = depth;
  l.call = call;
  return l;
}

}  // namespace

std::string demangle(const std::string &name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char *out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string result = status == 0 && out ? out : name;
  free(out);
  return result;
}

uint64_t event_count(const reader::Trace &t) {
  uint64_t n = 0;
  for (uint32_t tid : t.thread_ids()) {
    const reader::Thread *th = t.thread(tid);
    if (!th || !th->totals_known) return 0;
    n += th->events;
  }
  return n;
}

std::string TraceModel::load(const std::string &dir, Progress *progress) {
  auto t = reader::Trace::open(dir);
  if (!t.ok()) return t.error;
  trace_.emplace(std::move(*t.value));
  if (progress) progress->set_total(event_count(*trace_));
  bool first = true;
  for (uint32_t tid : trace_->thread_ids()) {
    ThreadCalls tc;
    tc.tid = tid;
    std::vector<size_t> open;
    // A `function` trace has entries only: every call is shown flat.
    bool exits = false;
    trace_->for_each_event(tid, [&](const reader::Event &e) {
      exits = e.kind == reader::EventKind::exit;
      return !exits;
    });
    std::string err = trace_->for_each_event(tid, [&](const reader::Event &e) {
      if (progress) progress->add();
      if (first || e.ns < start_ns_) start_ns_ = e.ns;
      end_ns_ = std::max(end_ns_, e.ns);
      first = false;
      switch (e.kind) {
        case reader::EventKind::entry: {
          Call c;
          c.ip = e.ip;
          c.parent_ip = e.parent_ip;
          c.start_ns = e.ns;
          c.depth = static_cast<unsigned>(open.size());
          tc.calls.push_back(c);
          if (exits) open.push_back(tc.calls.size() - 1);
          tc.lines.push_back(call_line(tid, e, c.depth, tc.calls.size() - 1));
          break;
        }
        case reader::EventKind::exit: {
          // The innermost open call of this function (a lost chunk may
          // have dropped some entries or exits: skip what does not match).
          auto it = std::find_if(open.rbegin(), open.rend(),
                                 [&](size_t i) { return tc.calls[i].ip == e.ip; });
          if (it == open.rend()) break;
          size_t idx = *it;
          open.erase(std::next(it).base(), open.end());
          Call &c = tc.calls[idx];
          c.end_ns = e.ns;
          c.unwound = e.unwound;
          if (!open.empty()) tc.calls[open.back()].child_ns += c.duration();
          tc.lines.push_back(call_line(tid, e, c.depth, idx));
          break;
        }
        case reader::EventKind::args:
          if (!tc.calls.empty()) tc.calls.back().args = e.values;
          break;
        case reader::EventKind::retval:
          if (!tc.lines.empty() && tc.lines.back().kind == reader::EventKind::exit) {
            Call &c = tc.calls[tc.lines.back().call];
            c.has_retval = true;
            c.retval = e.values.empty() ? 0 : e.values[0];
          }
          break;
        case reader::EventKind::stack:
        case reader::EventKind::marker: {
          Line l = call_line(tid, e, static_cast<unsigned>(open.size()), 0);
          l.marker = e.marker;
          l.marker_arg = e.marker_arg;
          l.values = e.values;
          if (e.kind == reader::EventKind::marker) l.values = {e.ip};
          tc.lines.push_back(std::move(l));
          break;
        }
      }
      return true;
    });
    if (!err.empty()) return err;
    threads_.push_back(std::move(tc));
  }
  return "";
}

std::string function_name(const reader::Trace &t, uintptr_t ip) {
  if (const reader::Symbol *s = t.symbol_at(ip)) return demangle(s->name);
  if (const reader::Symbol *s = t.symbol_containing(ip)) {
    std::ostringstream o;
    o << demangle(s->name) << "+0x" << std::hex << (ip - s->ip);
    return o.str();
  }
  std::ostringstream o;
  o << "0x" << std::hex << ip;
  return o.str();
}

std::string TraceModel::name(uintptr_t ip) const { return function_name(*trace_, ip); }

const FunctionInfo *TraceModel::function_info(uintptr_t ip) const {
  const reader::Symbol *s = trace_->symbol_at(ip);
  if (!s || !s->module) return nullptr;
  return debug_.function(*s->module, ip);
}

Abi TraceModel::abi_of(uintptr_t ip) const {
  const reader::Symbol *s = trace_->symbol_at(ip);
  return s && s->module && !s->module->path.empty() ? debug_.abi(*s->module) : Abi::other;
}

std::string TraceModel::source(uintptr_t ip) const {
  const FunctionInfo *f = function_info(ip);
  if (!f || f->file.empty()) return "";
  return f->line > 0 ? f->file + ":" + std::to_string(f->line) : f->file;
}

namespace {
std::vector<ProfileRow> from_section(const std::string &text) {
  std::vector<ProfileRow> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string ip, module, name;
    ProfileRow r;
    if (!(f >> ip >> r.calls >> r.total_ns >> r.self_ns >> r.max_ns >> module)) continue;
    std::getline(f >> std::ws, name);
    r.name = demangle(name);
    r.ip = std::strtoull(ip.c_str(), nullptr, 16);
    rows.push_back(r);
  }
  return rows;
}
}  // namespace

std::vector<ProfileRow> profile_of(const TraceModel &m, bool per_thread) {
  if (!per_thread)
    if (const std::string *s = m.trace().section("profile")) return from_section(*s);
  std::map<std::pair<uint32_t, uintptr_t>, ProfileRow> by;
  for (const ThreadCalls &t : m.threads())
    for (const Call &c : t.calls) {
      ProfileRow &r = by[{per_thread ? t.tid : 0, c.ip}];
      if (r.calls == 0) {
        r.name = m.name(c.ip);
        r.ip = c.ip;
        r.tid = t.tid;
      }
      r.calls++;
      if (c.end_ns == 0) continue;  // no exit recorded (`function` tracer, or still open)
      r.total_ns += c.duration();
      r.self_ns += c.duration() > c.child_ns ? c.duration() - c.child_ns : 0;
      r.max_ns = std::max(r.max_ns, c.duration());
    }
  std::vector<ProfileRow> rows;
  for (auto &[k, r] : by) rows.push_back(r);
  return rows;
}

}  // namespace sled::cli
