// One process track per process, one thread track per thread under it;
// each call a slice (begin at its entry, end at its exit) named by its
// function, interned once per function. Arguments and return values the
// function_graph tracer captured become debug annotations (arg0.., retval)
// of the begin and end events; a call left by an exception or longjmp
// carries "unwound". A `function` trace (entries only) gives instants.
// Exits are matched like trace_model.cc does: to the innermost open call of
// the same function, ending the calls above it (their exits were lost);
// an exit that matches none is skipped. Calls still open at the end stay
// open (Perfetto shows them as not ended).
#include "export_perfetto.h"

#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <unordered_map>

#include "perfetto_writer.h"
#include "record/reader.h"
#include "trace_model.h"

namespace sled::cli {
namespace {

struct PendingBegin {
  uint64_t ns, name_iid;
  std::vector<Annotation> args;
};
struct PendingEnd {
  uint64_t ns;
  std::vector<Annotation> args;
};

class ProcessExporter {
 public:
  ProcessExporter(PerfettoWriter &w, const reader::Trace &t, Progress &progress)
      : w_(w), t_(t), progress_(progress) {}

  std::string run() {
    uint32_t pid = t_.header().pid;
    uint64_t process = w_.process_track(pid, program_name(t_.header().program));
    for (uint32_t tid : t_.thread_ids()) {
      const reader::Thread *th = t_.thread(tid);
      std::string name = th && !th->name.empty() ? th->name : fmt::format("thread {}", tid);
      uint64_t track = w_.thread_track(process, pid, tid, name);
      if (std::string err = thread(tid, track); !err.empty()) return err;
    }
    return "";
  }

 private:
  std::string thread(uint32_t tid, uint64_t track) {
    bool exits = false;  // a `function` trace has entries only
    t_.for_each_event(tid, [&](const reader::Event &e) {
      exits = e.kind == reader::EventKind::exit;
      return !exits;
    });
    std::vector<uintptr_t> open;  // ips of the open calls, innermost last
    std::optional<PendingBegin> begin;
    std::optional<PendingEnd> end;
    auto flush = [&] {
      if (begin) w_.begin(track, begin->ns, begin->name_iid, begin->args);
      if (end) w_.end(track, end->ns, end->args);
      begin.reset();
      end.reset();
    };
    std::string err = t_.for_each_event(tid, [&](const reader::Event &e) {
      progress_.add();
      switch (e.kind) {
        case reader::EventKind::args:
          if (begin)
            for (size_t i = 0; i < e.values.size(); i++)
              begin->args.push_back({arg_name(i), Annotation::uint, e.values[i]});
          return true;
        case reader::EventKind::retval:
          if (end && !e.values.empty())
            end->args.push_back({annotation("retval"), Annotation::sint, e.values[0]});
          return true;
        case reader::EventKind::entry:
          flush();
          if (!exits) {
            w_.instant(track, e.ns, name_iid(e.ip));
            return true;
          }
          begin = PendingBegin{e.ns, name_iid(e.ip), {}};
          open.push_back(e.ip);
          return true;
        case reader::EventKind::exit: {
          flush();
          size_t k = open.size();
          while (k > 0 && open[k - 1] != e.ip) k--;
          if (k == 0) return true;  // no open call of this function
          for (size_t lost = open.size(); lost > k; lost--) w_.end(track, e.ns, {});
          open.resize(k - 1);
          end = PendingEnd{e.ns, {}};
          if (e.unwound) end->args.push_back({annotation("unwound"), Annotation::boolean, 1});
          return true;
        }
        case reader::EventKind::stack:
        case reader::EventKind::marker:
          flush();
          return true;
      }
      return true;
    });
    flush();
    return err;
  }

  uint64_t name_iid(uintptr_t ip) {
    auto [it, added] = names_.try_emplace(ip, 0);
    if (added) it->second = w_.event_name(function_name(t_, ip));
    return it->second;
  }
  uint64_t arg_name(size_t i) {
    while (arg_iids_.size() <= i) arg_iids_.push_back(0);
    if (!arg_iids_[i]) arg_iids_[i] = annotation(fmt::format("arg{}", i));
    return arg_iids_[i];
  }
  uint64_t annotation(const std::string &name) { return w_.annotation_name(name); }

  PerfettoWriter &w_;
  const reader::Trace &t_;
  Progress &progress_;
  std::unordered_map<uintptr_t, uint64_t> names_;  // per process: addresses differ
  std::vector<uint64_t> arg_iids_;
};

}  // namespace

std::string write_perfetto(const std::vector<ProcessTrace> &procs, std::ostream &out,
                           Progress &progress) {
  std::optional<PerfettoWriter> w;
  uint64_t total = 0;  // events of the processes so far
  bool known = true;   // every count so far known (else the bar shows a count)
  for (const ProcessTrace &p : procs) {
    auto t = reader::Trace::open(p.dir);
    if (!t.ok()) return p.dir + ": " + t.error;
    if (t->cut())
      std::fprintf(stderr, "sled: warning: %s is cut (%s); reading what was written\n",
                   p.dir.c_str(), t->cut_reason().c_str());
    uint64_t n = event_count(*t);
    known = known && n;
    total += n;
    progress.set_total(known ? total : 0);
    if (!w) w.emplace(out, t->header().start_ns);
    ProcessExporter ex(*w, *t, progress);
    if (std::string err = ex.run(); !err.empty()) return p.dir + ": " + err;
  }
  return "";
}

}  // namespace sled::cli
