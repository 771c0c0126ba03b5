// The recorder through libsled-trace.so, read back with sled_reader:
// exact round trips (two threads, one exited, every event kind, sections,
// symbols), lost-event accounting in drop mode, the flight recorder, the
// per-thread memory bound, exited threads kept, a SIGKILLed recorder.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "trace_util.h"

extern "C" int rec_fix_alpha(int);
extern "C" int rec_fix_beta(int);
extern "C" int rec_fix_gamma(int);

namespace rec = sled::rec;
using rectest::Expect;
using rectest::TempDir;
using sled::reader::Event;
using sled::reader::EventKind;
using sled::reader::Trace;

namespace {

uintptr_t addr(int (*f)(int)) { return reinterpret_cast<uintptr_t>(f); }

rec::Options options(const std::string &dir, size_t buffer = 4u << 20,
                     rec::Mode mode = rec::Mode::drop_newest) {
  rec::Options o;
  o.dir = dir;
  o.buffer_bytes = buffer;
  o.mode = mode;
  return o;
}

Trace open_ok(const std::string &dir) {
  auto r = Trace::open(dir);
  EXPECT_TRUE(r.ok()) << r.error;
  if (!r.ok()) abort();
  return std::move(*r.value);
}

std::vector<Event> events_of(const Trace &t, uint32_t tid) {
  auto r = t.events(tid);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.ok() ? *r.value : std::vector<Event>{};
}

// One thread's scripted events: every kind, ips of real instrumented
// functions and far-apart made-up ones, negative and large values.
void script(Expect &x, uint64_t &ts, int rounds) {
  uintptr_t a = addr(rec_fix_alpha), b = addr(rec_fix_beta), g = addr(rec_fix_gamma);
  for (int i = 0; i < rounds; i++) {
    x.entry(ts += 7, g, 0x1000 + i);
    x.args({static_cast<uint64_t>(i), ~0ull, 1ull << 63});
    x.entry(ts += 130, b, g + 9);
    x.entry(ts += 100000, a, b + 5);
    x.args({static_cast<uint64_t>(-5)});
    x.exit(ts += 1, a);
    x.retval(static_cast<uint64_t>(-1));
    x.stack(ts += 3, {b + 5, g + 9, 0x7fff00001234ull});
    x.exit(ts += 2, b, true);
    x.marker(ts += 9, 0xffffffff80000000ull, rec::Marker::inject_delay, 250);
    x.exit(ts += 1u << 30, g);
    x.retval(42);
    // About a chunk per 100 rounds: give the writer thread time to drain
    // (this test is about content; RecordLost is about drops).
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  x.stack(ts += 1, {});
  x.marker(ts += 1, 0, rec::Marker::trace_off, 0);
}

TEST(RecordRoundTrip, TwoThreadsEveryKindSectionsSymbols) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 64 * 1024)), 0);
  EXPECT_TRUE(rec::active());
  EXPECT_EQ(rec::start(options(dir.path)), -EBUSY);
  uint64_t base = rec::now();

  // The second thread runs and exits before stop: its events stay.
  std::vector<Event> other;
  uint32_t other_tid = 0;
  std::thread t([&] {
    Expect x(rec::thread_writer());
    ASSERT_NE(x.w, nullptr);
    uint64_t ts = base;
    script(x, ts, 300);
    other = x.events;
    other_tid = x.tid;
  });
  t.join();

  Expect me(rec::thread_writer());
  ASSERT_NE(me.w, nullptr);
  uint64_t ts = base + 5;
  script(me, ts, 800);  // several 8 KiB chunks (a 64 KiB bound)
  ASSERT_EQ(rec::add_section("profile", std::string("p\0q", 3)), 0);
  ASSERT_EQ(rec::add_section("notes", "old"), 0);
  ASSERT_EQ(rec::add_section("notes", "new"), 0);
  rec::Stats st = rec::stats();
  EXPECT_EQ(st.events, me.events.size() + other.size());
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.threads, 2u);
  ASSERT_EQ(rec::stop(), 0);
  EXPECT_FALSE(rec::active());
  EXPECT_EQ(rec::thread_writer(), nullptr);
  EXPECT_EQ(rec::stop(), -ENOTCONN);

  Trace tr = open_ok(dir.path);
  EXPECT_FALSE(tr.cut()) << tr.cut_reason();
  EXPECT_TRUE(tr.complete());
  EXPECT_EQ(tr.header().pid, static_cast<uint32_t>(getpid()));
  EXPECT_NE(tr.header().program.find("record_recorder"), std::string::npos) << tr.header().program;
  EXPECT_EQ(tr.total_events(), me.events.size() + other.size());
  EXPECT_EQ(tr.total_lost(), 0u);
  me.fill_ns(tr);
  EXPECT_EQ(events_of(tr, me.tid), me.events);
  for (Event &e : other) e.ns = tr.to_ns(e.ticks);
  EXPECT_EQ(events_of(tr, other_tid), other);
  ASSERT_NE(tr.thread(other_tid), nullptr);
  EXPECT_EQ(tr.thread(other_tid)->events, other.size());
  EXPECT_TRUE(tr.thread(me.tid)->totals_known);
  EXPECT_EQ(tr.thread(me.tid)->lost, 0u);
  EXPECT_GT(tr.thread(me.tid)->chunks, 3u);

  ASSERT_NE(tr.section("profile"), nullptr);
  EXPECT_EQ(*tr.section("profile"), std::string("p\0q", 3));
  EXPECT_EQ(*tr.section("notes"), "new");
  EXPECT_EQ(tr.section("absent"), nullptr);

  const sled::reader::Symbol *s = tr.symbol_at(addr(rec_fix_beta));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "rec_fix_beta");
  ASSERT_NE(s->module, nullptr);
  EXPECT_NE(s->module->path.find("record_recorder"), std::string::npos);
  const sled::reader::Symbol *c = tr.symbol_containing(addr(rec_fix_beta) + 5);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "rec_fix_beta");
  EXPECT_EQ(tr.symbol_at(addr(rec_fix_beta) + 5), nullptr);
  EXPECT_EQ(tr.symbol_containing(0x10), nullptr);

  // Timestamps convert linearly: 2^30 ticks apart stay ordered and spaced.
  std::vector<Event> ev = events_of(tr, me.tid);
  for (size_t i = 1; i < ev.size(); i++) ASSERT_LE(ev[i - 1].ns, ev[i].ns);
}

TEST(RecordRoundTrip, ArgumentCountsAndStackDepthAreClamped) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  uint64_t v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uintptr_t ips[100];
  for (int i = 0; i < 100; i++) ips[i] = 0x400000 + i;
  rec::entry(w, 10, 0x500000, 0);
  rec::args(w, v, 12);
  rec::args(w, v, 0);  // nothing to record
  rec::stack(w, 11, ips, 100);
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].values.size(), 8u);
  EXPECT_EQ(ev[2].values.size(), 64u);
  EXPECT_EQ(ev[2].values[63], 0x400000u + 63);
}

TEST(RecordSwitch, OffRecordsNothingAndNewSessionsGetNewBuffers) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path)), 0);
  EXPECT_TRUE(rec::enabled());
  rec::set_enabled(false);
  EXPECT_FALSE(rec::enabled());
  EXPECT_EQ(rec::thread_writer(), nullptr);
  rec::set_enabled(true);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  rec::entry(w, 1, 2, 3);
  ASSERT_EQ(rec::stop(), 0);
  rec::set_enabled(true);  // no session: stays off
  EXPECT_FALSE(rec::enabled());
  EXPECT_EQ(rec::stats().events, 1u);

  TempDir dir2;
  ASSERT_EQ(rec::start(options(dir2.path)), 0);
  rec::Writer *w2 = rec::thread_writer();
  ASSERT_NE(w2, nullptr);
  rec::entry(w2, 5, 6, 7);
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir2.path);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ip, 6u);
}

TEST(RecordStart, RejectsBadOptions) {
  TempDir dir;
  EXPECT_EQ(rec::start(options(dir.path, 1000)), -EINVAL);
  EXPECT_EQ(rec::start(options("/proc/no/such/dir")), -ENOENT);
  EXPECT_FALSE(rec::active());
  EXPECT_EQ(rec::snapshot(), -ENOTCONN);
  EXPECT_EQ(rec::add_section("x", "y"), -ENOTCONN);
}

// drop_newest with a tiny buffer: every event is either in the trace or
// counted as lost, exactly; the kept ones are the written ones in order.
TEST(RecordLost, TinyBufferCountsEveryDroppedEvent) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 4096)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  const uint64_t n = 200000;
  uint64_t calls = 0;
  for (uint64_t i = 0; i < n; i++) {
    rec::entry(w, i, 0x10000 + i, 0x20000);
    uint64_t v = i;
    rec::args(w, &v, 1);
    calls += 2;
  }
  rec::Stats st = rec::stats();
  ASSERT_EQ(rec::stop(), 0);
  EXPECT_EQ(st.events + st.lost, calls);
  EXPECT_GT(st.lost, 0u);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, rectest::gettid_());
  EXPECT_EQ(ev.size(), st.events);
  EXPECT_EQ(tr.total_lost(), st.lost);
  EXPECT_EQ(tr.thread(rectest::gettid_())->lost, st.lost);
  // Kept events: entries each followed by their own args (an args whose
  // entry was dropped is dropped too), increasing.
  int64_t prev = -1;
  for (size_t i = 0; i < ev.size(); i++) {
    ASSERT_EQ(ev[i].kind, i % 2 ? EventKind::args : EventKind::entry) << i;
    if (i % 2) {
      ASSERT_EQ(ev[i].values[0], ev[i - 1].ip - 0x10000);
    } else {
      ASSERT_GT(static_cast<int64_t>(ev[i].ip), prev);
      prev = static_cast<int64_t>(ev[i].ip);
    }
  }
}

TEST(RecordLost, LargeBufferLosesNothing) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 8u << 20)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  const uint64_t n = 200000;
  for (uint64_t i = 0; i < n; i++) rec::entry(w, i, 0x10000 + i, 0x20000);
  ASSERT_EQ(rec::stop(), 0);
  EXPECT_EQ(rec::stats().lost, 0u);
  EXPECT_EQ(rec::stats().events, n);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), n);
  for (uint64_t i = 0; i < n; i++) ASSERT_EQ(ev[i].ip, 0x10000 + i);
}

// overwrite_oldest keeps the newest events: a contiguous run ending with
// the last one, and nothing is reported lost.
TEST(RecordOverwrite, KeepsTheNewest) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 16 * 1024, rec::Mode::overwrite_oldest)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  const uint64_t n = 100000;
  for (uint64_t i = 0; i < n; i++) rec::entry(w, i, 0x10000 + i, 0x20000);
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  EXPECT_EQ(tr.header().mode, sled::reader::Mode::overwrite_oldest);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_GT(ev.size(), 1000u);  // about 3 chunks of 4 KiB at 4-6 bytes each
  ASSERT_LT(ev.size(), n);
  for (size_t i = 0; i < ev.size(); i++) ASSERT_EQ(ev[i].ip, 0x10000 + n - ev.size() + i) << i;
  EXPECT_EQ(tr.total_lost(), 0u);
}

// Snapshots in overwrite mode write what the ring holds; chunks repeated
// by a later snapshot or stop are read once.
TEST(RecordOverwrite, SnapshotsThenStopReadOnce) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 16 * 1024, rec::Mode::overwrite_oldest)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  uint64_t i = 0;
  for (; i < 500; i++) rec::entry(w, i, 0x10000 + i, 0);
  ASSERT_EQ(rec::snapshot(), 0);
  ASSERT_EQ(rec::snapshot(), 0);
  for (; i < 600; i++) rec::entry(w, i, 0x10000 + i, 0);
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), 600u);
  for (size_t k = 0; k < ev.size(); k++) ASSERT_EQ(ev[k].ip, 0x10000 + k);
}

// The mapping of each thread's buffer (its Writer is its start; guard
// pages keep it on a line of its own in /proc/self/maps) is no larger than
// the bound, for several threads, even after each wrote far more.
TEST(RecordMemory, PerThreadBoundHonoured) {
  TempDir dir;
  const size_t bound = 100000;
  ASSERT_EQ(rec::start(options(dir.path, bound, rec::Mode::overwrite_oldest)), 0);
  size_t per = rec::thread_buffer_bytes();
  EXPECT_LE(per, bound);
  EXPECT_GE(per, 64 * 1024u);
  std::vector<uintptr_t> starts(3);
  std::atomic<int> ready{0}, done{0};
  std::vector<std::thread> th;
  for (int k = 0; k < 3; k++)
    th.emplace_back([&, k] {
      rec::Writer *w = rec::thread_writer();
      starts[k] = reinterpret_cast<uintptr_t>(w);
      for (uint64_t i = 0; i < 300000; i++) rec::entry(w, i, i * 1000, 0);
      ready++;
      while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  while (ready.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int found = 0;
  while (std::getline(maps, line)) {
    uintptr_t lo, hi;
    if (sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
    for (int k = 0; k < 3; k++) {
      if (starts[k] < lo || starts[k] >= hi) continue;
      found++;
#ifndef RECORD_NO_MAPS
      EXPECT_EQ(lo, starts[k]) << line;
      EXPECT_EQ(hi - lo, per) << line;
      EXPECT_LE(hi - lo, bound);
#endif
    }
  }
  EXPECT_EQ(found, 3);
  done = 1;
  for (auto &t : th) t.join();
  ASSERT_EQ(rec::stop(), 0);
}

// A thread that exits while recording: the writer thread notices, writes
// its buffer out (an end record with its totals) and unmaps it.
TEST(RecordThreads, ExitedThreadKeepsItsEvents) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 64 * 1024)), 0);
  uint32_t tid = 0;
  uintptr_t buf = 0;
  std::thread t([&] {
    rec::Writer *w = rec::thread_writer();
    buf = reinterpret_cast<uintptr_t>(w);
    tid = rectest::gettid_();
    for (uint64_t i = 0; i < 1234; i++) rec::entry(w, i, 0x10000 + i, 0);
  });
  t.join();
  // Within a few liveness checks (100 ms apart) the end record is written.
  bool exited = false;
  for (int i = 0; i < 1000 && !exited; i++) {  // up to 10 s (qemu, sanitizers)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto r = Trace::open(dir.path);
    exited = r.ok() && r->thread(tid) && r->thread(tid)->exited;
  }
  EXPECT_TRUE(exited);
  // Its buffer is gone from the address space.
  std::string maps = rectest::read_file("/proc/self/maps");
  char prefix[32];
  snprintf(prefix, sizeof prefix, "%lx-", static_cast<unsigned long>(buf));
  EXPECT_EQ(maps.find(prefix), std::string::npos);
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, tid);
  ASSERT_EQ(ev.size(), 1234u);
  EXPECT_EQ(ev.back().ip, 0x10000u + 1233);
  EXPECT_EQ(tr.thread(tid)->events, 1234u);
}

// A recording process killed with SIGKILL leaves a trace readable up to
// its last written chunk, marked as cut.
TEST(RecordCrash, SigkilledRecorderLeavesReadableTrace) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (rec::start(options(dir.path, 1u << 20)) != 0) _exit(2);
    rec::Writer *w = rec::thread_writer();
    if (!w) _exit(3);
    bool told = false;
    for (uint64_t i = 0;; i++) {
      rec::entry(w, i, 0x10000 + i, 0);
      if (!told && (i & 1023) == 0 && rec::stats().bytes_written > 3 * 64 * 1024) {
        told = true;
        if (write(fds[1], "x", 1) != 1) _exit(4);
      }
      if ((i & 255) == 0) usleep(50);  // slow enough that nothing is dropped
    }
  }
  close(fds[1]);
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  Trace tr = open_ok(dir.path);
  EXPECT_TRUE(tr.cut());
  EXPECT_FALSE(tr.complete());
  EXPECT_NE(tr.cut_reason().find("footer"), std::string::npos) << tr.cut_reason();
  ASSERT_EQ(tr.thread_ids().size(), 1u);
  auto ev = events_of(tr, tr.thread_ids()[0]);
  ASSERT_GT(ev.size(), 3 * 64 * 1024 / 8u);
  EXPECT_EQ(tr.thread(tr.thread_ids()[0])->lost, 0u);
  for (size_t i = 0; i < ev.size(); i++) ASSERT_EQ(ev[i].ip, 0x10000 + i);
  EXPECT_EQ(tr.header().pid, static_cast<uint32_t>(pid));
  // The symbol table written at start: a killed process's trace still
  // names its functions.
  const sled::reader::Symbol *beta = tr.symbol_at(addr(rec_fix_beta));
  ASSERT_NE(beta, nullptr);
  EXPECT_EQ(beta->name, "rec_fix_beta");
  auto strict = Trace::open(dir.path, {.strict = true});
  EXPECT_FALSE(strict.ok());
  EXPECT_NE(strict.error.find("footer"), std::string::npos) << strict.error;
}

}  // namespace

namespace {

// A child forked during a session records nothing into the parent's trace
// and may record its own; the parent's session carries on.
TEST(RecordFork, ChildForgetsTheParentsSession) {
  TempDir dir, child_dir;
  ASSERT_EQ(rec::start(options(dir.path)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  rec::entry(w, 1, 0x100, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int bad = 0;
    if (rec::active() || rec::thread_writer() != nullptr) bad |= 1;
#if defined(SLED_TSAN) || defined(RECORD_NO_THREAD_AFTER_FORK)
    // TSan (and qemu-user, whose plugin core asserts) cannot start a
    // thread (the writer) in the child of a multi-threaded process; the
    // rest of the test runs in the other configurations.
    _exit(bad);
#endif
    if (rec::start(options(child_dir.path)) != 0) bad |= 2;
    rec::Writer *cw = rec::thread_writer();
    if (!cw || cw == w) bad |= 4;
    if (cw) rec::entry(cw, 2, 0x200, 0);
    if (rec::stop() != 0) bad |= 8;
    _exit(bad);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  rec::entry(rec::thread_writer(), 3, 0x300, 0);
  ASSERT_EQ(rec::stop(), 0);
  Trace parent = open_ok(dir.path);
  auto pe = events_of(parent, rectest::gettid_());
  ASSERT_EQ(pe.size(), 2u);
  EXPECT_EQ(pe[1].ip, 0x300u);
#if defined(SLED_TSAN) || defined(RECORD_NO_THREAD_AFTER_FORK)
  return;
#endif
  Trace child = open_ok(child_dir.path);
  ASSERT_EQ(child.thread_ids().size(), 1u);
  auto ce = events_of(child, child.thread_ids()[0]);
  ASSERT_EQ(ce.size(), 1u);
  EXPECT_EQ(ce[0].ip, 0x200u);
  EXPECT_EQ(child.header().pid, static_cast<uint32_t>(pid));
}

}  // namespace

namespace {

// drop_newest: a snapshot writes the current, partly filled chunk; the
// same chunk written again later (full, or at stop) is read once.
TEST(RecordSnapshot, DropModePartialChunksReadOnce) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 64 * 1024)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  uint64_t i = 0;
  for (; i < 100; i++) rec::entry(w, i, 0x10000 + i, 0);
  ASSERT_EQ(rec::snapshot(), 0);
  // Readable now, mid-session: a cut trace with the first 100 events.
  auto mid = Trace::open(dir.path);
  ASSERT_TRUE(mid.ok()) << mid.error;
  EXPECT_TRUE(mid->cut());
  EXPECT_EQ(events_of(*mid, rectest::gettid_()).size(), 100u);
  for (; i < 5000; i++) {
    rec::entry(w, i, 0x10000 + i, 0);
    if (i % 1000 == 0) ASSERT_EQ(rec::snapshot(), 0);
  }
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), 5000u);
  for (size_t k = 0; k < ev.size(); k++) ASSERT_EQ(ev[k].ip, 0x10000 + k);
}

// request_snapshot (lock-free, for callbacks): the writer thread writes
// the buffers within a few polls.
TEST(RecordSnapshot, RequestedSnapshotIsTakenByTheWriterThread) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path)), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  for (uint64_t i = 0; i < 10; i++) rec::entry(w, i, 0x10000 + i, 0);
  rec::request_snapshot();
  size_t seen = 0;
  for (int k = 0; k < 2000 && seen < 10; k++) {  // up to 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto r = Trace::open(dir.path);
    if (r.ok() && r->thread(rectest::gettid_())) seen = events_of(*r, rectest::gettid_()).size();
  }
  EXPECT_EQ(seen, 10u);
  ASSERT_EQ(rec::stop(), 0);
}

}  // namespace

namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool cpuinfo_has(const std::string &flag) {
  std::string s = rectest::read_file("/proc/cpuinfo");
  return s.find(" " + flag + " ") != std::string::npos ||
         s.find(" " + flag + "\n") != std::string::npos;
}

// Each clock: the trace says which one it used, and an event stamped
// between two CLOCK_MONOTONIC readings converts to a time between them
// (within 1 ms: the calibration pairs' error is far below that).
void check_clock(rec::ClockKind kind, sled::reader::Clock expected) {
  TempDir dir;
  rec::Options o = options(dir.path);
  o.clock = kind;
  ASSERT_EQ(rec::start(o), 0);
  rec::Writer *w = rec::thread_writer();
  ASSERT_NE(w, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uint64_t m0 = mono_ns();
  uint64_t t = rec::now();
  uint64_t m1 = mono_ns();
  rec::entry(w, t, 0x1234, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  EXPECT_EQ(tr.header().clock, expected);
  auto ev = events_of(tr, rectest::gettid_());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ticks, t);
  EXPECT_GE(ev[0].ns + 1000000, m0);
  EXPECT_LE(ev[0].ns, m1 + 1000000);
  if (expected == sled::reader::Clock::monotonic) EXPECT_EQ(ev[0].ns, t);
  EXPECT_GT(tr.header().ticks_per_second, 0u);
}

TEST(RecordClock, MonotonicForced) {
  check_clock(rec::ClockKind::monotonic, sled::reader::Clock::monotonic);
}

TEST(RecordClock, AutomaticPicksTheInvariantCounter) {
#if defined(__aarch64__)
  check_clock(rec::ClockKind::automatic, sled::reader::Clock::cntvct);
#else
  // Linux shows CPUID's invariant-TSC bit as constant_tsc + nonstop_tsc.
  bool invariant = cpuinfo_has("constant_tsc") && cpuinfo_has("nonstop_tsc");
  check_clock(rec::ClockKind::automatic,
              invariant ? sled::reader::Clock::tsc : sled::reader::Clock::monotonic);
  if (!invariant) {
    TempDir dir;
    rec::Options o = options(dir.path);
    o.clock = rec::ClockKind::tsc;
    EXPECT_EQ(rec::start(o), -ENOTSUP);
  }
#endif
}

}  // namespace

namespace {

// Snapshots in overwrite mode while the thread keeps overwriting its ring:
// a chunk copied while the thread reused it is discarded (the seqlock), so
// what is read is never torn: every event decodes with the values written,
// ips strictly increase (gaps where chunks were overwritten between
// snapshots), and the run ends with the last event written.
TEST(RecordOverwrite, SnapshotsWhileTheThreadOverwrites) {
  TempDir dir;
  ASSERT_EQ(rec::start(options(dir.path, 8192, rec::Mode::overwrite_oldest)), 0);
  std::atomic<bool> stop_writing{false};
  std::atomic<uint64_t> written{0};
  uint32_t tid = 0;
  std::thread t([&] {
    tid = rectest::gettid_();
    rec::Writer *w = rec::thread_writer();
    uint64_t i = 0;
    while (!stop_writing.load(std::memory_order_relaxed)) {
      rec::entry(w, i, 0x10000 + i, 0x20000 + (i & 0xff));
      uint64_t v[2] = {i, ~i};
      rec::args(w, v, 2);
      i++;
    }
    written = i;
  });
  for (int k = 0; k < 30; k++) {
    ASSERT_EQ(rec::snapshot(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop_writing = true;
  t.join();
  ASSERT_EQ(rec::stop(), 0);
  Trace tr = open_ok(dir.path);
  auto ev = events_of(tr, tid);
  ASSERT_GT(ev.size(), 100u);
  // A snapshot may copy the current chunk between an entry and its args:
  // if that chunk is overwritten before the next copy, the entry ends a
  // run without its args. Every args still follows its own entry.
  uint64_t prev = 0;
  bool have_entry = false;
  for (size_t k = 0; k < ev.size(); k++) {
    if (ev[k].kind == EventKind::args) {
      ASSERT_TRUE(have_entry) << k;
      ASSERT_EQ(ev[k].values, (std::vector<uint64_t>{prev, ~prev})) << k;
      have_entry = false;
      continue;
    }
    ASSERT_EQ(ev[k].kind, EventKind::entry) << k;
    uint64_t i = ev[k].ip - 0x10000;
    ASSERT_TRUE(k == 0 || i > prev) << k;
    ASSERT_EQ(ev[k].parent_ip, 0x20000 + (i & 0xff)) << k;
    ASSERT_EQ(ev[k].ticks, i) << k;
    prev = i;
    have_entry = true;
  }
  EXPECT_EQ(prev + 1, written.load());
}

}  // namespace
