// The "profile" tracer: per function, calls, total, self and max time, kept
// in per-thread tables (profile_table.h) without an event stream, through
// one graph ops. sled_profile_read merges the tables of every thread that
// ever made a hooked call (exited threads included); at stop, the merged
// table becomes the trace's "profile" section (layout in
// docs/trace-format.md). Owns the tables and the graph ops; must not write
// events or take a lock on the hot path.
//
// Self time = a call's duration minus the durations of the timed calls it
// made. Each thread keeps a stack of open calls; the entry callback pushes
// one and stores its index + 1 in the graph ops' per-call data slot, so a
// return finds its own frame even when calls above it never reported their
// return (past sled's shadow-stack depth, or hooked before a restart): it
// pops everything above. Recursive functions count each level's full
// duration in their total, as gprof does; self time is exact.
//
// Lifetime: tables live from a thread's first hooked call until the next
// start (or sled_profile_read's last use after stop). A thread knows its
// table is current by the run's generation, never by reading a table that
// may be gone.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "sled/graph.h"
#include "sled/trace.h"
#include "tracers/c_boundary.h"
#include "tracers/ops_filter.h"
#include "tracers/profile_table.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers::profile {

ProfileTable *ProfileTable::create() {
  void *p = mmap(nullptr, sizeof(ProfileTable), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Not constructed: zero bytes are every member's initial value (lock-free
  // integer atomics, null pointer, zero counts), and a constructor would
  // touch every page: a thread pays resident memory only for the slots and
  // stack depth it uses.
  return static_cast<ProfileTable *>(p);
}

void ProfileTable::destroy(ProfileTable *t) { munmap(t, sizeof(ProfileTable)); }

namespace {

// The run's generation: 0 while no run ever started. Written by start()
// before the graph ops is registered; sled's registration (patching under
// its lock, membarrier) orders that store before any callback of the run,
// so a relaxed load in the callback sees the current run's value.
std::atomic<uint64_t> g_gen{0};
// Every table of the current run: a lock-free push-only list (a thread's
// first hooked call may come from a signal handler, and sled_profile_read
// may call a user function whose traced calls allocate a table; neither may
// wait for a lock). Release on push so a reader's acquire sees the table
// initialised.
std::atomic<ProfileTable *> g_tables{nullptr};
// Serialises start, stop and readers (never taken on the hot path).
std::mutex g_mutex;
sled_graph_ops g_gops;
bool g_running = false;

thread_local uint64_t t_gen = 0;
thread_local ProfileTable *t_table = nullptr;
thread_local bool t_failed = false;  // mmap failed this run: do not retry per call

ProfileTable *thread_table(bool create) {
  uint64_t gen = g_gen.load(std::memory_order_relaxed);
  if (t_gen == gen) return t_table;
  if (!create) return nullptr;
  if (t_failed && t_gen == ~gen) return nullptr;
  ProfileTable *t = ProfileTable::create();
  if (!t) {
    t_failed = true;
    t_gen = ~gen;
    return nullptr;
  }
  ProfileTable *head = g_tables.load(std::memory_order_relaxed);
  do {
    t->next = head;
  } while (!g_tables.compare_exchange_weak(head, t, std::memory_order_release,
                                           std::memory_order_relaxed));
  t_table = t;
  t_gen = gen;
  return t;
}

int on_entry(uintptr_t, uintptr_t, sled_graph_ops *, sled_regs *, uint64_t *data) {
  if (!rec::enabled()) return 0;  // traceoff
  ProfileTable *t = thread_table(true);
  if (!t || t->sp >= kMaxDepth) return 0;
  uint32_t i = t->sp;
  t->stack[i] = Frame{rec::now(), 0};
  t->sp = i + 1;
  *data = i + 1;
  return 1;
}

void on_return(const sled_graph_ret *r, sled_graph_ops *) {
  uint64_t end = rec::now();
  ProfileTable *t = thread_table(false);
  if (!t || r->data == 0 || r->data > t->sp) return;  // not this run's frame
  uint32_t i = static_cast<uint32_t>(r->data - 1);
  t->sp = i;
  const Frame &f = t->stack[i];
  uint64_t duration = end > f.start ? end - f.start : 0;
  uint64_t self_time = duration > f.child ? duration - f.child : 0;
  if (i > 0) t->stack[i - 1].child += duration;
  t->account(r->ip, duration, self_time);
}

struct Sum {
  uint64_t calls = 0, total = 0, self = 0, max = 0;
};

// The merged table, times in ns, most total time first. Caller holds g_mutex.
std::vector<std::pair<uintptr_t, Sum>> merge(uint64_t *missed) {
  std::unordered_map<uintptr_t, Sum> sums;
  *missed = 0;
  for (ProfileTable *t = g_tables.load(std::memory_order_acquire); t; t = t->next) {
    *missed += t->missed.load(std::memory_order_relaxed);
    for (const Slot &s : t->slots) {
      uintptr_t ip = s.ip.load(std::memory_order_acquire);
      if (!ip) continue;
      Sum &m = sums[ip];
      m.calls += s.calls.load(std::memory_order_relaxed);
      m.total += s.total.load(std::memory_order_relaxed);
      m.self += s.self.load(std::memory_order_relaxed);
      m.max = std::max(m.max, s.max.load(std::memory_order_relaxed));
    }
  }
  std::vector<std::pair<uintptr_t, Sum>> out;
  out.reserve(sums.size());
  for (auto &[ip, s] : sums) {
    s.total = rec::duration_ns(s.total);
    s.self = rec::duration_ns(s.self);
    s.max = rec::duration_ns(s.max);
    out.emplace_back(ip, s);
  }
  std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) {
    return a.second.total != b.second.total ? a.second.total > b.second.total : a.first < b.first;
  });
  return out;
}

void free_tables() {
  ProfileTable *t = g_tables.exchange(nullptr, std::memory_order_acquire);
  while (t) {
    ProfileTable *next = t->next;
    ProfileTable::destroy(t);
    t = next;
  }
}

// The "profile" section (docs/trace-format.md): text, one line per function.
std::string section_text(const std::vector<std::pair<uintptr_t, Sum>> &rows, uint64_t missed) {
  std::string out = "# sled profile 1: ip calls total_ns self_ns max_ns module name\n";
  char line[160];
  snprintf(line, sizeof line, "# missed %" PRIu64 "\n", missed);
  out += line;
  for (const auto &[ip, s] : rows) {
    sled_site_info info{};
    bool named = sled_site_lookup(ip, &info) == 0 && info.name;
    snprintf(line, sizeof line, "%#" PRIxPTR " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ",
             ip, s.calls, s.total, s.self, s.max);
    out += line;
    out += named && info.module && *info.module ? info.module : "?";
    out += ' ';
    out += named ? info.name : "?";
    out += '\n';
  }
  return out;
}

int start(const Options &opts) {
  std::lock_guard lock(g_mutex);
  if (g_running) return -EALREADY;
  free_tables();  // the previous run's (no callback of it runs any more)
  g_gen.fetch_add(1, std::memory_order_relaxed);  // published by the registration below
  g_gops = sled_graph_ops{};
  g_gops.entry = on_entry;
  g_gops.ret = on_return;
  if (int err = apply_filters(&g_gops.ops, opts); err < 0) {
    set_error(std::string("profile: ") + last_error());
    return err;
  }
  if (int err = sled_register_graph_ops(&g_gops); err < 0) {
    set_error(std::string("profile: ") + sled_last_error());
    forget_filters(&g_gops.ops);
    return err;
  }
  g_running = true;
  return 0;
}

int stop() {
  std::lock_guard lock(g_mutex);
  if (!g_running) return -EALREADY;
  int err = sled_unregister_graph_ops(&g_gops);
  if (err) {
    set_error(std::string("profile: cannot unregister: ") + sled_last_error());
    return err;
  }
  g_running = false;
  uint64_t missed = 0;
  auto rows = merge(&missed);
  return rec::add_section("profile", section_text(rows, missed));
}

const char *const kExtraKeys[] = {nullptr};

}  // namespace

sled_ops *ops() { return &g_gops.ops; }

}  // namespace sled::tracers::profile

namespace sled::tracers {
const Tracer profile_tracer = {"profile", profile::start, profile::stop, profile::kExtraKeys,
                               profile::ops};
}  // namespace sled::tracers

extern "C" int sled_profile_read(int (*fn)(const sled_profile_entry *e, void *arg), void *arg) try {
  using namespace sled::tracers::profile;
  if (!fn) return -EINVAL;
  // Rows are copied out under the lock, then handed to fn without it: fn may
  // call anything (even start and stop the tracer).
  std::vector<std::pair<uintptr_t, Sum>> rows;
  {
    std::lock_guard lock(g_mutex);
    uint64_t missed = 0;
    rows = merge(&missed);
  }
  for (const auto &[ip, s] : rows) {
    sled_site_info info{};
    sled_profile_entry e{ip, "?", s.calls, s.total, s.self, s.max};
    if (sled_site_lookup(ip, &info) == 0 && info.name) e.name = info.name;
    if (int r = fn(&e, arg)) return r;
  }
  return 0;
}
SLED_TRACE_CATCH(-ENOMEM)
