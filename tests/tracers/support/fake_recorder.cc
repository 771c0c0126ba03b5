// An in-memory stand-in for the recorder (tracers/record/recorder.h) for the
// tracer unit tests: every event is appended to one list under a mutex, so
// that the tests see exactly what the tracers hand the recorder, whatever
// the real recorder does with it. Not lock-free and allocating: fine for a
// test whose callbacks are never RECURSION_SAFE and never run in signal
// handlers. read_trace() ignores the directory.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <map>
#include <mutex>

#include "trace_events.h"
#include "tracers/record/recorder.h"

namespace sled::rec {
struct Writer {
  uint64_t tid;
};
}  // namespace sled::rec

namespace {
std::mutex g_mu;
std::vector<trc_test::Event> g_events;
std::atomic<bool> g_active{false}, g_enabled{false};
std::atomic<uint64_t> g_snapshots{0};
thread_local sled::rec::Writer t_writer{0};

void push(sled::rec::Writer *w, trc_test::Event e) {
  e.tid = w->tid;
  std::lock_guard lock(g_mu);
  g_events.push_back(std::move(e));
}
}  // namespace

namespace sled::rec {

int start(const Options &) {
  if (g_active.exchange(true)) return -EBUSY;
  std::lock_guard lock(g_mu);
  g_events.clear();
  g_enabled = true;
  return 0;
}
int stop() {
  g_active = false;
  return 0;
}
int snapshot() { return 0; }
void request_snapshot() { g_snapshots++; }
size_t thread_buffer_bytes() { return g_active ? 4096 : 0; }
bool active() { return g_active; }
int add_section(const std::string &, const std::string &) { return 0; }
void set_enabled(bool on) { g_enabled = on; }
bool enabled() { return g_enabled; }
Stats stats() {
  std::lock_guard lock(g_mu);
  return Stats{g_events.size(), 0, 0, 1};
}
Writer *thread_writer() {
  if (!g_active || !g_enabled) return nullptr;
  if (!t_writer.tid) t_writer.tid = static_cast<uint64_t>(syscall(SYS_gettid));
  return &t_writer;
}
uint64_t now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
uint64_t duration_ns(uint64_t raw_delta) { return raw_delta; }  // now() is in ns
void entry(Writer *w, uint64_t ts, uintptr_t ip, uintptr_t parent_ip) {
  trc_test::Event e;
  e.kind = trc_test::Kind::entry;
  e.ts = ts, e.ip = ip, e.parent_ip = parent_ip;
  push(w, std::move(e));
}
void exit(Writer *w, uint64_t ts, uintptr_t ip, bool unwound) {
  trc_test::Event e;
  e.kind = trc_test::Kind::exit;
  e.ts = ts, e.ip = ip, e.unwound = unwound;
  push(w, std::move(e));
}
void args(Writer *w, const uint64_t *values, unsigned n) {
  trc_test::Event e;
  e.kind = trc_test::Kind::args;
  e.values.assign(values, values + n);
  push(w, std::move(e));
}
void retval(Writer *w, uint64_t value) {
  trc_test::Event e;
  e.kind = trc_test::Kind::retval;
  e.values = {value};
  push(w, std::move(e));
}
void stack(Writer *w, uint64_t ts, const uintptr_t *ips, unsigned n) {
  trc_test::Event e;
  e.kind = trc_test::Kind::stack;
  e.ts = ts;
  e.values.assign(ips, ips + n);
  push(w, std::move(e));
}
void marker(Writer *w, uint64_t ts, uintptr_t ip, Marker kind, uint64_t arg) {
  trc_test::Event e;
  e.kind = trc_test::Kind::marker;
  e.ts = ts, e.ip = ip, e.marker = static_cast<uint32_t>(kind);
  e.values = {arg};
  push(w, std::move(e));
}

}  // namespace sled::rec

namespace trc_test {

int64_t snapshots_requested() { return static_cast<int64_t>(g_snapshots.load()); }

bool read_trace(const std::string &, std::vector<Thread> *out, std::string *) {
  std::lock_guard lock(g_mu);
  out->clear();
  std::map<uint64_t, size_t> index;
  for (Event e : g_events) {
    if (e.kind == Kind::entry || e.kind == Kind::exit || e.kind == Kind::marker)
      e.name = function_containing(e.ip);
    if (e.kind == Kind::stack)
      for (uint64_t ip : e.values) e.names.push_back(function_containing(ip));
    auto [it, fresh] = index.emplace(e.tid, out->size());
    if (fresh) out->push_back(Thread{e.tid, {}});
    (*out)[it->second].events.push_back(std::move(e));
  }
  return true;
}

}  // namespace trc_test
