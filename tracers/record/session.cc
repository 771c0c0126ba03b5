// The recording session: start/stop/snapshot, sections, the switch, stats,
// and the background writer thread that drains thread buffers into the
// trace file. Everything here runs outside sled callbacks except
// set_enabled, enabled and request_snapshot (lock-free). Locks: g_api
// serialises the control calls; a session's ctl lock serialises passes
// over the buffers (the writer thread, snapshot, stop, stats).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include "clock.h"
#include "drain.h"
#include "session_state.h"
#include "symbols.h"
#include "trace_file.h"

namespace sled::rec {

std::atomic<uint32_t> g_state{0};
Geometry g_geometry{};

namespace {

// New threads' buffers, pushed by the threads (first event only) and taken
// by the session under ctl. acq_rel CAS: the taker sees the initialised
// Writer; the pusher's read of the old head needs nothing more.
std::atomic<Writer *> g_pending{nullptr};
// Set from callbacks (a snapshot trigger); the writer thread acts on it.
// relaxed: it carries no data, the snapshot reads the buffers' own atomics.
std::atomic<bool> g_snapshot_requested{false};

constexpr auto kPollPeriod = std::chrono::milliseconds(5);
constexpr int kLivenessEvery = 20;  // passes between checks of exited threads
constexpr uint64_t kClockEveryNs = 1000000000u;

struct ThreadTotals {
  uint32_t tid;
  uint64_t events, lost;
};

struct Session {
  Options opts;
  Geometry geo;
  TraceFile file;
  std::mutex ctl;
  Writer *writers = nullptr;  // adopted buffers, under ctl
  std::vector<ThreadTotals> retired;
  uint64_t threads = 0;
  std::vector<uint8_t> staging;
  std::mutex sections_mu;
  std::map<std::string, std::string> sections;
  std::mutex wake_mu;
  std::condition_variable wake;
  bool quit = false;
  pthread_t thread{};
  bool thread_started = false;
  uint64_t last_clock_ns = 0;
};

std::mutex g_api;
Session *g_session = nullptr;
uint32_t g_last_id = 0;
Stats g_last_stats{};

void write_clock(Session &s) {
  ClockPair p = read_pair();
  std::string b;
  put_u64(b, p.ticks);
  put_u64(b, p.mono_ns);
  s.file.append(fmt::rec_clock, b);
  s.last_clock_ns = p.mono_ns;
}

void adopt_pending(Session &s) {
  Writer *w = g_pending.exchange(nullptr, std::memory_order_acq_rel);
  while (w) {
    Writer *next = w->pending_next.load(std::memory_order_relaxed);
    if (w->geo.session == s.geo.session) {
      w->next = s.writers;
      s.writers = w;
      s.threads++;
    } else {
      unmap_writer(w);  // registered for a session that has ended
    }
    w = next;
  }
}

void announce(Session &s, Writer *w) {
  if (w->announced) return;
  std::string b;
  put_u32(b, w->tid);
  put_string(b, w->name);
  s.file.append(fmt::rec_thread, b);
  w->announced = true;
}

// One pass over the buffers: new threads announced, full chunks drained,
// exited threads written out and unmapped.
void pass(Session &s, bool check_exited) {
  adopt_pending(s);
  Writer **link = &s.writers;
  while (Writer *w = *link) {
    announce(s, w);
    bool gone = check_exited && thread_gone(w);
    if (s.geo.mode == Mode::drop_newest) drain_full(w, s.file);
    if (!gone) {
      link = &w->next;
      continue;
    }
    flush_held(w, s.file, s.staging);
    uint64_t ev = w->events.load(std::memory_order_relaxed),
             lost = w->lost.load(std::memory_order_relaxed);
    std::string b;
    put_u32(b, w->tid);
    put_u64(b, ev);
    put_u64(b, lost);
    s.file.append(fmt::rec_thread_end, b);
    s.retired.push_back({w->tid, ev, lost});
    *link = w->next;
    unmap_writer(w);
  }
  if (monotonic_ns() - s.last_clock_ns >= kClockEveryNs) write_clock(s);
}

// `symbols` was built by the caller before it took any lock of ours:
// sled_for_each_site takes sled's lock, which must never be taken under
// ours (no lock-order edge from the recorder's locks to sled's).
void write_tables(Session &s, const std::string *symbols) {
  if (symbols) s.file.append(fmt::rec_symbols, *symbols);
  std::lock_guard<std::mutex> lk(s.sections_mu);
  for (const auto &[name, bytes] : s.sections) {
    std::string b;
    put_string(b, name);
    b += bytes;
    s.file.append(fmt::rec_section, b);
  }
}

// Everything held in memory now, plus the tables. Under ctl.
void snapshot_locked(Session &s, const std::string *symbols) {
  pass(s, false);
  for (Writer *w = s.writers; w; w = w->next) flush_held(w, s.file, s.staging);
  write_tables(s, symbols);
  write_clock(s);
}

// The symbol table for a snapshot or stop, built with none of our locks
// held; nullptr if sled could not list its sites.
const std::string *symbols_for(std::string *buf) { return build_symbols(buf) == 0 ? buf : nullptr; }

Stats stats_locked(Session &s) {
  adopt_pending(s);
  Stats st{0, 0, s.file.bytes_written(), s.threads};
  for (const ThreadTotals &t : s.retired) {
    st.events += t.events;
    st.lost += t.lost;
  }
  for (Writer *w = s.writers; w; w = w->next) {
    st.events += w->events.load(std::memory_order_relaxed);
    st.lost += w->lost.load(std::memory_order_relaxed);
  }
  return st;
}

void *writer_main(void *arg) {
  Session &s = *static_cast<Session *>(arg);
  for (int n = 1;; n++) {
    {
      std::unique_lock<std::mutex> lk(s.wake_mu);
      if (s.wake.wait_for(lk, kPollPeriod, [&] { return s.quit; })) return nullptr;
    }
    try {
      std::string buf;
      const std::string *symbols = nullptr;
      bool snap = g_snapshot_requested.exchange(false, std::memory_order_relaxed);
      if (snap) symbols = symbols_for(&buf);
      std::lock_guard<std::mutex> lk(s.ctl);
      pass(s, n % kLivenessEvery == 0);
      if (snap) snapshot_locked(s, symbols);
    } catch (const std::exception &) {
      // Out of memory building a record: try again next pass.
    }
  }
}

std::string header_payload(const Session &s, fmt::ClockId clock, uint64_t tps,
                           const ClockPair &start) {
  std::string b;
  put_u32(b, fmt::kVersion);
  b += static_cast<char>(clock);
  b += static_cast<char>(s.geo.mode == Mode::drop_newest ? 0 : 1);
  b += '\0';
  b += '\0';
  put_u64(b, tps);
  put_u64(b, start.ticks);
  put_u64(b, start.mono_ns);
  put_u64(b, realtime_ns());
  put_u32(b, static_cast<uint32_t>(getpid()));
  put_u32(b, s.geo.chunk_bytes);
  put_u64(b, s.opts.buffer_bytes);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  put_string(b, n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string());
  return b;
}

// The options of the session a fork child forgot (start_after_fork).
Options *g_forgotten = nullptr;

// A child of fork() has the session's memory but not its writer thread:
// it records nothing and may start a session of its own. The parent's
// session object is left behind (its locks may be held by threads that do
// not exist in the child); its options are kept for start_after_fork.
void forget_session_in_child() {
  if (g_session) {
    delete g_forgotten;
    g_forgotten = new (std::nothrow) Options(g_session->opts);
  }
  g_state.store(0, std::memory_order_relaxed);
  g_session = nullptr;
  g_pending.store(nullptr, std::memory_order_relaxed);
  new (&g_api) std::mutex;
}

int start_locked(const Options &opts, const std::string *symbols) {
  if (g_session) return -EBUSY;
  static bool atfork_once = pthread_atfork(nullptr, nullptr, forget_session_in_child) == 0;
  (void)atfork_once;
  fmt::ClockId clock;
  int rc = resolve_clock(opts.clock, &clock);
  if (rc < 0) return rc;
  Geometry geo;
  rc = plan_geometry(opts.buffer_bytes, opts.mode, g_last_id + 1, &geo);
  if (rc < 0) return rc;
  auto *s = new Session;
  s->opts = opts;
  s->geo = geo;
  s->staging.resize(geo.chunk_bytes);
  if ((rc = s->file.open(opts.dir)) < 0) {
    delete s;
    return rc;
  }
  select_clock(clock);
  // Two pairs 2 ms apart give the counter's nominal rate, used by readers
  // of a trace cut before any later pair was written.
  ClockPair p0 = read_pair();
  timespec pause{0, 2000000};
  nanosleep(&pause, nullptr);
  ClockPair p1 = read_pair();
  uint64_t tps = ticks_per_second(p0, p1);
  set_session_rate(tps);
  rc = s->file.append(fmt::rec_header, header_payload(*s, clock, tps, p1));
  if (rc < 0) {
    delete s;
    return rc;
  }
  s->last_clock_ns = p1.mono_ns;
  // The symbols of the modules loaded now, so that a trace cut by a crash
  // or SIGKILL still names its functions (snapshots and stop write newer
  // tables).
  if (symbols && (rc = s->file.append(fmt::rec_symbols, *symbols)) < 0) {
    delete s;
    return rc;
  }
  // The writer thread takes no signal: handlers run on the program's
  // threads, where they may be traced.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&s->thread, nullptr, writer_main, s);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    delete s;
    return -rc;
  }
  s->thread_started = true;
  pthread_setname_np(s->thread, "sled-writer");
  g_session = s;
  g_last_id = geo.session;
  g_geometry = geo;
  g_snapshot_requested.store(false, std::memory_order_relaxed);
  // release: a thread that sees this session id sees g_geometry and the clock.
  g_state.store(geo.session << 1 | 1, std::memory_order_release);
  return 0;
}

int stop_locked(const std::string *symbols) {
  Session *s = g_session;
  if (!s) return -ENOTCONN;
  // Threads that load the old state still record until their callbacks
  // return; stop's caller has waited for those (recorder.h).
  g_state.store(0, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lk(s->wake_mu);
    s->quit = true;
  }
  s->wake.notify_all();
  if (s->thread_started) {  // not again after a stop cut short by bad_alloc
    pthread_join(s->thread, nullptr);
    s->thread_started = false;
  }
  std::unique_lock<std::mutex> lk(s->ctl);
  snapshot_locked(*s, symbols);
  Stats st = stats_locked(*s);
  ClockPair end = read_pair();
  std::string b;
  put_u64(b, st.events);
  put_u64(b, st.lost);
  put_u64(b, st.threads);
  put_u64(b, end.ticks);
  put_u64(b, end.mono_ns);
  std::vector<ThreadTotals> rows = s->retired;
  for (Writer *w = s->writers; w; w = w->next)
    rows.push_back({w->tid, w->events.load(std::memory_order_relaxed),
                    w->lost.load(std::memory_order_relaxed)});
  put_varint(b, rows.size());
  for (const ThreadTotals &t : rows) {
    put_u32(b, t.tid);
    put_u64(b, t.events);
    put_u64(b, t.lost);
  }
  s->file.append(fmt::rec_footer, b);
  st.bytes_written = s->file.bytes_written();
  int rc = s->file.error();
  s->file.close();
  while (Writer *w = s->writers) {
    s->writers = w->next;
    unmap_writer(w);
  }
  g_last_stats = st;
  g_session = nullptr;
  lk.unlock();
  delete s;
  return rc;
}

}  // namespace

void publish_writer(Writer *w) {
  Writer *head = g_pending.load(std::memory_order_relaxed);
  do {
    w->pending_next.store(head, std::memory_order_relaxed);
  } while (!g_pending.compare_exchange_weak(head, w, std::memory_order_release,
                                            std::memory_order_relaxed));
}

int start(const Options &opts) try {
  std::string buf;
  const std::string *symbols = symbols_for(&buf);  // before our lock, as stop does
  std::lock_guard<std::mutex> lk(g_api);
  return start_locked(opts, symbols);
} catch (const std::bad_alloc &) {
  return -ENOMEM;
} catch (const std::length_error &) {
  return -ENOMEM;
}

int start_after_fork(const char *dir) try {
  if (!g_forgotten) return -ENOTCONN;
  Options opts = *g_forgotten;
  opts.dir = dir;
  delete g_forgotten;
  g_forgotten = nullptr;
  return start(opts);
} catch (const std::bad_alloc &) {
  return -ENOMEM;
}

int stop() try {
  std::string buf;
  const std::string *symbols = symbols_for(&buf);
  std::lock_guard<std::mutex> lk(g_api);
  return stop_locked(symbols);
} catch (const std::bad_alloc &) {
  return -ENOMEM;
} catch (const std::length_error &) {
  return -ENOMEM;
}

int snapshot() try {
  std::string buf;
  const std::string *symbols = symbols_for(&buf);
  std::lock_guard<std::mutex> lk(g_api);
  if (!g_session) return -ENOTCONN;
  std::lock_guard<std::mutex> lk2(g_session->ctl);
  snapshot_locked(*g_session, symbols);
  return g_session->file.error();
} catch (const std::bad_alloc &) {
  return -ENOMEM;
} catch (const std::length_error &) {
  return -ENOMEM;
}

void request_snapshot() { g_snapshot_requested.store(true, std::memory_order_relaxed); }

bool active() {
  std::lock_guard<std::mutex> lk(g_api);
  return g_session != nullptr;
}

int add_section(const std::string &name, const std::string &bytes) try {
  std::lock_guard<std::mutex> lk(g_api);
  if (!g_session) return -ENOTCONN;
  std::lock_guard<std::mutex> lk2(g_session->sections_mu);
  g_session->sections[name] = bytes;
  return 0;
} catch (const std::bad_alloc &) {
  return -ENOMEM;
} catch (const std::length_error &) {
  return -ENOMEM;
}

void set_enabled(bool on) {
  uint32_t s = g_state.load(std::memory_order_relaxed);
  // A CAS so that a concurrent stop (state 0) is never undone; relaxed:
  // the session id part does not change here, nothing else is published.
  while ((s >> 1) != 0 &&
         !g_state.compare_exchange_weak(s, (s & ~1u) | (on ? 1u : 0u), std::memory_order_relaxed)) {
  }
}

bool enabled() {
  uint32_t s = g_state.load(std::memory_order_relaxed);
  return (s >> 1) != 0 && (s & 1);
}

Stats stats() {
  try {
    std::lock_guard<std::mutex> lk(g_api);
    if (!g_session) return g_last_stats;
    std::lock_guard<std::mutex> lk2(g_session->ctl);
    return stats_locked(*g_session);
  } catch (...) {
    return Stats{};
  }
}

size_t thread_buffer_bytes() {
  std::lock_guard<std::mutex> lk(g_api);
  return g_session ? g_session->geo.map_bytes : 0;
}

}  // namespace sled::rec
