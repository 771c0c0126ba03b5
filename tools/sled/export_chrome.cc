// The chrome export (export_chrome.h), streamed from the reader's
// per-thread event streams instead of call trees (trace_model.cc) and a
// whole nlohmann-json document: memory holds one trace file and, for the
// thread being written, 24 bytes per call (where it ended). The events
// and their bytes are those the call trees gave: calls matched the way
// TraceModel::load matches them (an exit ends the innermost open call of
// its function and drops the calls above it; arguments go to the latest
// entry; a return value to the exit just before it), a call without an
// exit lasting to the process's last event, times relative to its first.
// The bytes are those of nlohmann-json's dump of the whole document (keys
// sorted, compact); every value is still serialised by nlohmann-json
// (strings escaped, bytes that are not UTF-8 replaced by U+FFFD, so the
// output is valid JSON whatever a symbol holds), a call's keys written in
// that sorted order around them. Must not change the document: the golden
// files of tests/cli (chrome_*) were made by the whole-document export.
#include "export_chrome.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "record/reader.h"
#include "trace_model.h"

namespace sled::cli {
namespace {

// The whole process: its time range (every thread's events) and calls.
struct ProcessFacts {
  uint64_t start_ns = 0, end_ns = 0, calls = 0;
};

// Reads every event of t once: the range and the calls, or the reader's
// error.
std::string process_facts(const reader::Trace &t, ProcessFacts *f, Progress &progress) {
  progress.set_total(event_count(t));
  bool first = true;
  for (uint32_t tid : t.thread_ids()) {
    std::string err = t.for_each_event(tid, [&](const reader::Event &e) {
      progress.add();
      if (first || e.ns < f->start_ns) f->start_ns = e.ns;
      f->end_ns = std::max(f->end_ns, e.ns);
      first = false;
      f->calls += e.kind == reader::EventKind::entry;
      return true;
    });
    if (!err.empty()) return err;
  }
  return "";
}

// Compact, strings escaped, bytes that are not UTF-8 as U+FFFD.
std::string dump(const nlohmann::json &j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// How a call ended, by entry index.
struct CallEnd {
  uint64_t end_ns = 0;  // 0: no exit (runs to the process's end)
  uint64_t retval = 0;
  bool has_retval = false, unwound = false;
};

class ChromeWriter {
 public:
  explicit ChromeWriter(std::ostream &out) : out_(out) {
    out_ << R"({"displayTimeUnit":"ns","traceEvents":[)";
  }
  void event(const nlohmann::json &e) { serialised(dump(e)); }
  // One event's JSON, made by the caller.
  void serialised(const std::string &e) {
    if (events_++) out_ << ',';
    out_ << e;
  }
  void finish() { out_ << "]}\n"; }

 private:
  std::ostream &out_;
  uint64_t events_ = 0;
};

class ProcessWriter {
 public:
  ProcessWriter(ChromeWriter &w, std::ostream &out, const reader::Trace &t, const ProcessFacts &f,
                Progress &progress)
      : w_(w), out_(out), t_(t), f_(f), progress_(progress) {}

  // False when the output failed.
  bool run() {
    for (uint32_t tid : t_.thread_ids()) {
      w_.event({{"ph", "M"},
                {"name", "thread_name"},
                {"pid", t_.header().pid},
                {"tid", tid},
                {"args", {{"name", fmt::format("thread {}", tid)}}}});
      if (!thread(tid)) return false;
    }
    return true;
  }

 private:
  // First the calls' ends (exits come after the entries they close), then
  // the calls in entry order, each written at the next entry (its
  // arguments follow the entry).
  bool thread(uint32_t tid) {
    bool exits = false;  // a `function` trace has entries only: no call ends
    t_.for_each_event(tid, [&](const reader::Event &e) {
      exits = e.kind == reader::EventKind::exit;
      return !exits;
    });
    std::vector<CallEnd> ends;
    {
      std::vector<std::pair<size_t, uintptr_t>> open;  // entry index, ip; innermost last
      std::optional<size_t> last_exit;  // the latest line (entry, exit, stack, marker) an exit
      t_.for_each_event(tid, [&](const reader::Event &e) {
        switch (e.kind) {
          case reader::EventKind::entry:
            ends.emplace_back();
            if (exits) open.emplace_back(ends.size() - 1, e.ip);
            last_exit.reset();
            break;
          case reader::EventKind::exit: {
            auto it = std::find_if(open.rbegin(), open.rend(),
                                   [&](const auto &o) { return o.second == e.ip; });
            if (it == open.rend()) break;  // matches no open call: not a line
            size_t idx = it->first;
            open.erase(std::next(it).base(), open.end());
            ends[idx].end_ns = e.ns;
            ends[idx].unwound = e.unwound;
            last_exit = idx;
            break;
          }
          case reader::EventKind::retval:
            if (last_exit) {
              ends[*last_exit].has_retval = true;
              ends[*last_exit].retval = e.values.empty() ? 0 : e.values[0];
            }
            break;
          case reader::EventKind::args:
            break;
          case reader::EventKind::stack:
          case reader::EventKind::marker:
            last_exit.reset();
            break;
        }
        return true;
      });
    }
    size_t next = 0;  // entry index of the pending call + 1
    uintptr_t ip = 0;
    uint64_t start = 0;
    std::vector<uint64_t> args;
    bool ok = true;
    auto flush = [&] {
      if (next == 0) return;
      progress_.add();
      call(tid, ip, start, args, ends[next - 1]);
      ok = ok && out_;
    };
    t_.for_each_event(tid, [&](const reader::Event &e) {
      if (e.kind == reader::EventKind::entry) {
        flush();
        next++;
        ip = e.ip;
        start = e.ns;
        args.clear();
      } else if (e.kind == reader::EventKind::args && next > 0) {
        args = e.values;
      }
      return ok;
    });
    if (ok) flush();
    return ok;
  }

  void call(uint32_t tid, uintptr_t ip, uint64_t start, const std::vector<uint64_t> &args,
            const CallEnd &end) {
    uint64_t end_ns = end.end_ns ? end.end_ns : f_.end_ns;
    // The keys in the order nlohmann-json sorts them (args, cat, dur, name,
    // ph, pid, tid, ts), each value serialised by it: the bytes of a whole
    // object's dump, without building one per call.
    std::string &e = event_;
    e = "{";
    if (!args.empty() || end.has_retval || end.unwound) {
      nlohmann::json a = nlohmann::json::object();
      for (size_t i = 0; i < args.size(); i++) a[fmt::format("arg{}", i)] = args[i];
      if (end.has_retval) a["retval"] = end.retval;
      if (end.unwound) a["unwound"] = true;
      e += R"("args":)" + dump(a) + ",";
    }
    e += R"("cat":"function","dur":)" + dump((end_ns - start) / 1e3);
    e += R"(,"name":)" + name(ip);
    e += R"(,"ph":"X","pid":)" + std::to_string(t_.header().pid);
    e += R"(,"tid":)" + std::to_string(tid);
    e += R"(,"ts":)" + dump((start - f_.start_ns) / 1e3) + "}";
    w_.serialised(e);
  }

  // The function's name as a JSON string (quoted, escaped), made once.
  const std::string &name(uintptr_t ip) {
    auto [it, added] = names_.try_emplace(ip);
    if (added) it->second = dump(function_name(t_, ip));
    return it->second;
  }

  ChromeWriter &w_;
  std::ostream &out_;
  const reader::Trace &t_;
  const ProcessFacts &f_;
  Progress &progress_;
  std::unordered_map<uintptr_t, std::string> names_;
  std::string event_;  // reused: one allocation for every call's event
};

// The trace of p, opened, with its cut warning said; "" or the error.
std::string open_trace(const ProcessTrace &p, std::optional<reader::Trace> *t, bool warn) {
  auto r = reader::Trace::open(p.dir);
  if (!r.ok()) return p.dir + ": " + r.error;
  t->emplace(std::move(*r.value));
  if (warn && (*t)->cut())
    std::fprintf(stderr, "sled: warning: %s is cut (%s); reading what was written\n", p.dir.c_str(),
                 (*t)->cut_reason().c_str());
  return "";
}

}  // namespace

std::string write_chrome(const std::vector<ProcessTrace> &procs, std::ostream &out) {
  // Every trace read through first (an unreadable one: no output at all).
  std::vector<ProcessFacts> facts(procs.size());
  for (size_t i = 0; i < procs.size(); i++) {
    std::optional<reader::Trace> t;
    Progress progress("sled: reading " + procs[i].dir, 0);
    if (std::string err = open_trace(procs[i], &t, false); !err.empty()) return err;
    if (std::string err = process_facts(*t, &facts[i], progress); !err.empty())
      return procs[i].dir + ": " + err;
  }
  ChromeWriter w(out);
  for (size_t i = 0; i < procs.size(); i++) {
    std::optional<reader::Trace> t;
    if (std::string err = open_trace(procs[i], &t, true); !err.empty()) return err;
    Progress progress("sled: export", facts[i].calls, "calls");
    ProcessWriter pw(w, out, *t, facts[i], progress);
    if (!pw.run()) return "";  // the caller reports the write error
  }
  w.finish();
  return "";
}

}  // namespace sled::cli
