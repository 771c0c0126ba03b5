// The tracers through trace.h, read back as events (trace_events.h): exact
// event sequences of the function and function_graph tracers and of the
// triggers on the fixture's known calls (trc_fix.c), with every strategy;
// the session API's errors. Built twice: over the real recorder and reader
// (tracers_e2e) and over the in-memory recorder (tracers_fake).
#include <gtest/gtest.h>
#include <sled/graph.h>
#include <sled/trace.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "trace_events.h"
#include "trc_fix.h"

// Exported (not in the anonymous namespace) so that dladdr names it.
extern "C" __attribute__((noinline)) long trc_driver_calls_stack() {
  long r = trc_stack_c();
  __asm__ volatile("" ::: "memory");
  return r;
}

using trc_test::Event;
using trc_test::Kind;
using trc_test::render;
using trc_test::Thread;
using Lines = std::vector<std::string>;

namespace {

// A trace directory per test, under the build's test directory.
std::string trace_dir() {
  const ::testing::TestInfo *t = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(t->test_suite_name()) + "." + t->name();
  for (char &c : name)
    if (c == '/') c = '_';
  return "trc." + name;
}

std::vector<Thread> read_all(const std::string &dir) {
  std::vector<Thread> threads;
  std::string error;
  EXPECT_TRUE(trc_test::read_trace(dir, &threads, &error)) << error;
  return threads;
}

// The events of the one thread that recorded (the test's thread).
Lines one_thread(const std::string &dir) {
  std::vector<Thread> threads = read_all(dir);
  EXPECT_EQ(threads.size(), 1u);
  return threads.empty() ? Lines{} : render(threads[0].events);
}

std::vector<Event> events_of_one_thread(const std::string &dir) {
  std::vector<Thread> threads = read_all(dir);
  EXPECT_EQ(threads.size(), 1u);
  return threads.empty() ? std::vector<Event>{} : threads[0].events;
}

class Session : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    ASSERT_EQ(sled_set_strategy(GetParam()), 0);
    dir_ = trace_dir();
    ASSERT_EQ(sled_trace_open(("dir=" + dir_).c_str()), 0) << sled_trace_last_error();
  }
  void TearDown() override {
    if (open_) EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
    sled_trigger_clear();
    sled_set_strategy("callops");
    // Kept when the test failed, to look at.
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  // Closes the session (stopping every tracer and trigger).
  void Close() {
    ASSERT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
    open_ = false;
  }
  void Start(const char *tracer, const char *options) {
    ASSERT_EQ(sled_tracer_start(tracer, options), 0) << sled_trace_last_error();
  }
  std::string dir_;
  bool open_ = true;
};

#define STRATEGIES ::testing::Values("callops", "list", "dyntramp")

// ---- function ---------------------------------------------------------------
using FunctionTracer = Session;
INSTANTIATE_TEST_SUITE_P(Strategies, FunctionTracer, STRATEGIES);

TEST_P(FunctionTracer, EntriesInCallOrderWithCallers) {
  Start("function", "filter=trc_top,trc_mid,trc_leaf,trc_fact");
  EXPECT_EQ(trc_top(), 11);
  Close();
  std::vector<Event> ev = events_of_one_thread(dir_);
  EXPECT_EQ(render(ev), (Lines{"> trc_top", "> trc_mid", "> trc_leaf", "> trc_leaf", "> trc_fact",
                               "> trc_fact", "> trc_fact"}));
  std::vector<std::string> callers;
  for (const Event &e : ev) callers.push_back(trc_test::function_containing(e.parent_ip));
  ASSERT_EQ(callers.size(), 7u);
  EXPECT_EQ(Lines(callers.begin() + 1, callers.end()),
            (Lines{"trc_top", "trc_mid", "trc_mid", "trc_top", "trc_fact", "trc_fact"}));
}

TEST_P(FunctionTracer, NotraceAndStop) {
  Start("function", "filter=trc_* notrace=trc_leaf,trc_fact");
  EXPECT_EQ(trc_top(), 11);
  ASSERT_EQ(sled_tracer_stop("function"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_top(), 11);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_top", "> trc_mid"}));
}

TEST_P(FunctionTracer, TwoThreadsTwoStreams) {
  Start("function", "filter=trc_thread_body,trc_mid,trc_leaf");
  std::thread a([] { EXPECT_EQ(trc_thread_body(1), 4); });
  std::thread b([] { EXPECT_EQ(trc_thread_body(2), 6); });
  a.join();
  b.join();
  Close();
  std::vector<Thread> threads = read_all(dir_);
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_NE(threads[0].tid, threads[1].tid);
  for (const Thread &t : threads)
    EXPECT_EQ(render(t.events),
              (Lines{"> trc_thread_body", "> trc_mid", "> trc_leaf", "> trc_leaf"}));
}

TEST_P(FunctionTracer, OffAndOnRecordMarkers) {
  Start("function", "filter=trc_leaf");
  trc_leaf(1);
  ASSERT_EQ(sled_trace_off(), 0);
  trc_leaf(2);
  ASSERT_EQ(sled_trace_on(), 0);
  trc_leaf(3);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_leaf", "traceoff @-", "traceon @-", "> trc_leaf"}));
}

// ---- function_graph ---------------------------------------------------------
using FunctionGraph = Session;
INSTANTIATE_TEST_SUITE_P(Strategies, FunctionGraph, STRATEGIES);

TEST_P(FunctionGraph, EntriesAndExitsNest) {
  Start("function_graph", "filter=trc_top,trc_mid,trc_leaf,trc_fact");
  EXPECT_EQ(trc_top(), 11);
  Close();
  EXPECT_EQ(one_thread(dir_),
            (Lines{"> trc_top", "> trc_mid", "> trc_leaf", "< trc_leaf", "> trc_leaf", "< trc_leaf",
                   "< trc_mid", "> trc_fact", "> trc_fact", "> trc_fact", "< trc_fact",
                   "< trc_fact", "< trc_fact", "< trc_top"}));
}

TEST_P(FunctionGraph, ArgsAndRetval) {
  Start("function_graph", "filter=trc_args6,trc_mid args=2 retval=1");
  EXPECT_EQ(trc_args6(1, 2, 3, 4, 5, 6), 21);
  EXPECT_EQ(trc_mid(3, -4), 1);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_args6", "args 1 2", "< trc_args6", "= 21",  //
                                     "> trc_mid", "args 3 -4", "< trc_mid", "= 1"}));
}

TEST_P(FunctionGraph, SixArguments) {
  Start("function_graph", "filter=trc_args6 args=6");
  EXPECT_EQ(trc_args6(-1, 2, -3, 4, -5, 6), 3);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_args6", "args -1 2 -3 4 -5 6", "< trc_args6"}));
}

// capture= limits args= and retval= to its functions; the others are
// traced without them, each function exactly once (no second ops on it),
// also after a live notrace change.
TEST_P(FunctionGraph, CaptureOnlyTheNamedFunctions) {
  Start("function_graph", "filter=trc_args6,trc_mid args=2 retval=1 capture=trc_mid");
  EXPECT_EQ(trc_args6(1, 2, 3, 4, 5, 6), 21);
  EXPECT_EQ(trc_mid(3, -4), 1);
  ASSERT_EQ(sled_tracer_set_notrace("function_graph", "trc_leaf"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_args6(1, 2, 3, 4, 5, 6), 21);
  EXPECT_EQ(trc_mid(5, 6), 13);
  Close();
  EXPECT_EQ(one_thread(dir_),
            (Lines{"> trc_args6", "< trc_args6", "> trc_mid", "args 3 -4", "< trc_mid", "= 1",
                   "> trc_args6", "< trc_args6", "> trc_mid", "args 5 6", "< trc_mid", "= 13"}));
}

// A captured function is traced even outside filter= (uftrace's -A).
TEST_P(FunctionGraph, CaptureAddsToTheFilter) {
  Start("function_graph", "filter=trc_args6 retval=1 capture=trc_mid");
  EXPECT_EQ(trc_args6(1, 2, 3, 4, 5, 6), 21);
  EXPECT_EQ(trc_mid(3, -4), 1);
  Close();
  EXPECT_EQ(one_thread(dir_),
            (Lines{"> trc_args6", "< trc_args6", "> trc_mid", "< trc_mid", "= 1"}));
}

TEST_P(FunctionGraph, DepthLimitsHookedCalls) {
  Start("function_graph", "filter=trc_fact depth=2");
  // The depth applies to threads whose first hooked call comes after it.
  std::thread([] { EXPECT_EQ(trc_fact(4), 24); }).join();
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_fact", "> trc_fact", "< trc_fact", "< trc_fact"}));
}

TEST_P(FunctionGraph, LongjmpExitsAreUnwound) {
  Start("function_graph", "filter=trc_jump_*");
  EXPECT_EQ(trc_jump_outer(), 7);
  Close();
  EXPECT_EQ(one_thread(dir_),
            (Lines{"> trc_jump_outer", "> trc_jump_inner", "> trc_jump_deep",
                   "< trc_jump_deep unwound", "< trc_jump_inner unwound", "< trc_jump_outer"}));
}

TEST_P(FunctionGraph, TwoThreads) {
  Start("function_graph", "filter=trc_thread_body,trc_mid retval=1");
  std::thread a([] { EXPECT_EQ(trc_thread_body(1), 4); });
  std::thread b([] { EXPECT_EQ(trc_thread_body(2), 6); });
  a.join();
  b.join();
  Close();
  std::vector<Thread> threads = read_all(dir_);
  ASSERT_EQ(threads.size(), 2u);
  Lines r0 = render(threads[0].events), r1 = render(threads[1].events);
  if (r0 > r1) std::swap(r0, r1);  // "= 4" sorts before "= 6"
  EXPECT_EQ(r0, (Lines{"> trc_thread_body", "> trc_mid", "< trc_mid", "= 4", "< trc_thread_body",
                       "= 4"}));
  EXPECT_EQ(r1, (Lines{"> trc_thread_body", "> trc_mid", "< trc_mid", "= 6", "< trc_thread_body",
                       "= 6"}));
}

// ---- triggers ---------------------------------------------------------------
using Triggers = Session;
INSTANTIATE_TEST_SUITE_P(Strategies, Triggers, STRATEGIES);

TEST_P(Triggers, TraceoffStopsRecordingThere) {
  // The tracer is registered before the trigger: at trc_mark its entry is
  // recorded, then the trigger turns recording off.
  Start("function", "filter=trc_leaf,trc_after_mark,trc_mark");
  ASSERT_EQ(sled_trigger_add("trc_mark:traceoff"), 0) << sled_trace_last_error();
  trc_leaf(1);
  EXPECT_EQ(trc_after_mark(), 11);
  trc_leaf(2);
  Close();
  EXPECT_EQ(one_thread(dir_),
            (Lines{"> trc_leaf", "> trc_after_mark", "> trc_mark", "traceoff @trc_mark"}));
}

TEST_P(Triggers, TraceonStartsRecordingThere) {
  ASSERT_EQ(sled_trigger_add("trc_mark:traceon"), 0) << sled_trace_last_error();
  Start("function", "filter=trc_leaf,trc_after_mark,trc_mark");
  ASSERT_EQ(sled_trace_off(), 0);
  trc_leaf(1);
  EXPECT_EQ(trc_after_mark(), 11);
  Close();
  // The trigger was registered first: it turns recording on before the
  // tracer's callback runs at trc_mark.
  EXPECT_EQ(one_thread(dir_),
            (Lines{"traceoff @-", "traceon @trc_mark", "> trc_mark", "> trc_leaf"}));
}

TEST_P(Triggers, TraceoffUnderGraphLeavesExitsOut) {
  Start("function_graph", "filter=trc_leaf,trc_after_mark,trc_mark");
  ASSERT_EQ(sled_trigger_add("trc_mark:traceoff"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_after_mark(), 11);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_after_mark", "> trc_mark", "traceoff @trc_mark"}));
}

TEST_P(Triggers, TraceonUnderGraphHooksOnlyRecordedEntries) {
  ASSERT_EQ(sled_trigger_add("trc_mark:traceon"), 0) << sled_trace_last_error();
  Start("function_graph", "filter=trc_leaf,trc_after_mark,trc_mark");
  ASSERT_EQ(sled_trace_off(), 0);
  EXPECT_EQ(trc_after_mark(), 11);
  Close();
  // trc_after_mark's entry was not recorded, so its return was not hooked:
  // no exit without its entry.
  EXPECT_EQ(one_thread(dir_), (Lines{"traceoff @-", "traceon @trc_mark", "> trc_mark", "< trc_mark",
                                     "> trc_leaf", "< trc_leaf"}));
}

TEST_P(Triggers, CountLimitsFirings) {
  ASSERT_EQ(sled_trigger_add("trc_mark:stacktrace:2"), 0) << sled_trace_last_error();
  for (int i = 0; i < 5; ++i) trc_mark();
  Close();
  std::vector<Event> ev = events_of_one_thread(dir_);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, Kind::stack);
  EXPECT_EQ(ev[1].kind, Kind::stack);
}

TEST_P(Triggers, StacktraceHasTheCallers) {
  ASSERT_EQ(sled_trigger_add("trc_mark:stacktrace"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_driver_calls_stack(), 3);
  Close();
  std::vector<Event> ev = events_of_one_thread(dir_);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].kind, Kind::stack);
  ASSERT_GE(ev[0].names.size(), 5u);
  EXPECT_EQ(Lines(ev[0].names.begin(), ev[0].names.begin() + 4),
            (Lines{"trc_mark", "trc_stack_a", "trc_stack_b", "trc_stack_c"}));
  // Then this test's body (a driver function, exported by -rdynamic).
  // Then the driver function that called it.
  EXPECT_EQ(ev[0].names[4], "trc_driver_calls_stack");
}

TEST_P(Triggers, StacktraceThroughHookedReturns) {
  // The callers' return addresses are sled's return handler while
  // function_graph hooks them: the stack must still name the real callers.
  Start("function_graph", "filter=trc_stack_*");
  ASSERT_EQ(sled_trigger_add("trc_mark:stacktrace"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_driver_calls_stack(), 3);
  Close();
  std::vector<Event> ev = events_of_one_thread(dir_);
  ASSERT_EQ(ev.size(), 7u);
  // Both architectures: libsled's _Unwind_Backtrace puts the real return
  // addresses back for the walk (on aarch64 into the frame records,
  // re-signed; docs/graph.md).
  ASSERT_GE(ev[3].names.size(), 5u);
  ev[3].names.resize(5);  // then the test framework's frames
  EXPECT_EQ(render(ev), (Lines{"> trc_stack_c", "> trc_stack_b", "> trc_stack_a",
                               "stack trc_mark trc_stack_a trc_stack_b trc_stack_c "
                               "trc_driver_calls_stack",
                               "< trc_stack_a", "< trc_stack_b", "< trc_stack_c"}));
}

TEST_P(Triggers, SnapshotMarksAndWrites) {
  ASSERT_EQ(sled_trigger_add("trc_mark:snapshot:1"), 0) << sled_trace_last_error();
  int64_t before = trc_test::snapshots_requested();
  trc_mark();
  trc_mark();
  if (before >= 0) EXPECT_EQ(trc_test::snapshots_requested(), before + 1);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"snapshot @trc_mark"}));
}

TEST_P(Triggers, ClearRemovesThem) {
  ASSERT_EQ(sled_trigger_add("trc_mark:stacktrace"), 0);
  ASSERT_EQ(sled_trigger_add("trc_leaf:traceoff"), 0);
  ASSERT_EQ(sled_trigger_clear(), 0);
  trc_mark();
  trc_leaf(1);
  Start("function", "filter=trc_leaf");
  trc_leaf(2);
  Close();
  EXPECT_EQ(one_thread(dir_), (Lines{"> trc_leaf"}));
}

TEST(TriggerSpecs, MalformedAreEinvalWithAMessage) {
  struct Case {
    const char *spec, *message;
  } cases[] = {
      {"trc_mark", "trigger 'trc_mark' is not PATTERN:ACTION[:COUNT]"},
      {":traceoff", "trigger ':traceoff' is not PATTERN:ACTION[:COUNT]"},
      {"trc_mark:bogus",
       "trigger 'trc_mark:bogus': action='bogus' is not one of "
       "traceon|traceoff|stacktrace|snapshot"},
      {"trc_mark:traceoff:0",
       "trigger 'trc_mark:traceoff:0': count='0' is not an integer in 1..9223372036854775807"},
      {"trc_mark:traceoff:x",
       "trigger 'trc_mark:traceoff:x': action='x' is not one of "
       "traceon|traceoff|stacktrace|snapshot"},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(sled_trigger_add(c.spec), -EINVAL) << c.spec;
    EXPECT_STREQ(sled_trace_last_error(), c.message);
  }
  EXPECT_EQ(sled_trigger_add(nullptr), -EINVAL);
  EXPECT_EQ(sled_trigger_add("no_such_function_here:traceoff"), -ENOENT);
  EXPECT_NE(std::string(sled_trace_last_error()).find("no_such_function_here"), std::string::npos)
      << sled_trace_last_error();
}

// ---- the session API's errors --------------------------------------------------
TEST(SessionApi, Misuse) {
  EXPECT_EQ(sled_tracer_start("function", ""), -ENOTCONN);
  EXPECT_STREQ(sled_trace_last_error(), "sled_tracer_start: no session is open (sled_trace_open)");
  EXPECT_EQ(sled_trace_close(), -ENOTCONN);
  EXPECT_STREQ(sled_trace_last_error(), "sled_trace_close: no session is open");
  EXPECT_EQ(sled_trace_snapshot(), -ENOTCONN);
  ASSERT_EQ(sled_trace_open("dir=trc.SessionApi.Misuse"), 0) << sled_trace_last_error();
  EXPECT_EQ(sled_trace_open("dir=trc.SessionApi.Misuse2"), -EBUSY);
  EXPECT_STREQ(sled_trace_last_error(), "sled_trace_open: a session is already open");
  EXPECT_EQ(sled_tracer_stop("function"), -ENOENT);
  EXPECT_STREQ(sled_trace_last_error(), "sled_tracer_stop: function is not running");
  ASSERT_EQ(sled_tracer_start("function", "filter=trc_leaf"), 0);
  EXPECT_EQ(sled_tracer_start("function", "filter=trc_mid"), -EALREADY);
  EXPECT_STREQ(sled_trace_last_error(), "sled_tracer_start: function is already running");
  trc_leaf(1);
  sled_trace_stats st{};
  ASSERT_EQ(sled_trace_get_stats(&st), 0);
  EXPECT_GE(st.events, 1u);
  EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
  EXPECT_EQ(sled_trace_close(), -ENOTCONN);
  std::filesystem::remove_all("trc.SessionApi.Misuse");
}

TEST(SessionApi, BadOptionsAreEinvalAndChangeNothing) {
  struct Case {
    const char *what, *options, *message;
  } open_cases[] = {
      {"open", "buffer=12Q",
       "sled_trace_open: buffer='12Q' is not a size (digits with an "
       "optional K, M or G)"},
      {"open", "buffer=1K", "sled_trace_open: buffer=1K is under 4K (one page)"},
      {"open", "mode=fast", "sled_trace_open: mode='fast' is not one of drop|overwrite"},
      {"open", "clock=sundial",
       "sled_trace_open: clock='sundial' is not one of auto|tsc|monotonic"},
      {"open", "dir=", "sled_trace_open: dir= is empty"},
      {"open", "colour=red",
       "sled_trace_open: unknown option 'colour' for sled_trace_open (known: dir, buffer, mode, "
       "clock)"},
  };
  for (const Case &c : open_cases) {
    EXPECT_EQ(sled_trace_open(c.options), -EINVAL) << c.options;
    EXPECT_STREQ(sled_trace_last_error(), c.message);
  }
  EXPECT_EQ(sled_trace_close(), -ENOTCONN);  // no session was opened by those
  ASSERT_EQ(sled_trace_open("dir=trc.SessionApi.BadOptions buffer=64K mode=overwrite"), 0)
      << sled_trace_last_error();
  Case start_cases[] = {
      {"nope", "", "sled_tracer_start: unknown tracer 'nope' (known: function, function_graph"},
      {"function", "args=2",
       "sled_tracer_start: unknown option 'args' for function (known: filter, notrace)"},
      {"function_graph", "args=9", "function_graph: args='9' is not an integer in 0..8"},
      {"function_graph", "retval=yes", "function_graph: retval='yes' is not 0 or 1"},
      {"function_graph", "depth=0", "function_graph: depth='0' is not an integer in 1..65536"},
      {"function_graph", "filter", "sled_tracer_start: option 'filter' is not key=value"},
      {"function_graph", "capture=trc_leaf", "function_graph: capture= needs args= or retval="},
      {"function_graph", "args=1 capture=,", "function_graph: capture= names no function"},
  };
  for (const Case &c : start_cases) {
    EXPECT_EQ(sled_tracer_start(c.what, c.options), -EINVAL) << c.what << " " << c.options;
    EXPECT_EQ(std::string(sled_trace_last_error()).rfind(c.message, 0), 0u)
        << sled_trace_last_error();
  }
  EXPECT_EQ(sled_tracer_start("function", "filter=no_such_function_here"), -ENOENT);
  EXPECT_EQ(std::string(sled_trace_last_error()).rfind("filter=no_such_function_here: ", 0), 0u)
      << sled_trace_last_error();
  EXPECT_EQ(sled_tracer_start("function_graph", "args=1 capture=no_such_function_here"), -ENOENT);
  EXPECT_EQ(std::string(sled_trace_last_error())
                .rfind("function_graph: capture=no_such_function_here: ", 0),
            0u)
      << sled_trace_last_error();
  // Nothing started: both tracers still start.
  EXPECT_EQ(sled_tracer_start("function", "filter=trc_leaf"), 0) << sled_trace_last_error();
  EXPECT_EQ(sled_tracer_start("function_graph", "filter=trc_leaf"), 0) << sled_trace_last_error();
  EXPECT_EQ(trc_leaf(1), 2);
  EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
  std::filesystem::remove_all("trc.SessionApi.BadOptions");
}

// A sled callback calling the tracer API gets -EDEADLK at once.
std::atomic<int> g_rc_from_callback{1};
void calls_trace_api(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  g_rc_from_callback.store(sled_tracer_start("function", ""));
}

std::atomic<int> g_rc_from_return{1};
int hook_all(uintptr_t, uintptr_t, sled_graph_ops *, sled_regs *, uint64_t *) { return 1; }
void snapshot_on_return(const sled_graph_ret *, sled_graph_ops *) {
  g_rc_from_return.store(sled_trace_snapshot());
}

TEST(SessionApi, FromAReturnCallbackIsEdeadlk) {
  static sled_graph_ops gops;
  gops.entry = hook_all;
  gops.ret = snapshot_on_return;
  ASSERT_EQ(sled_set_filter(&gops.ops, "trc_mark", 1), 0);
  ASSERT_EQ(sled_register_graph_ops(&gops), 0) << sled_last_error();
  trc_mark();
  EXPECT_EQ(sled_unregister_graph_ops(&gops), 0);
  EXPECT_EQ(g_rc_from_return.load(), -EDEADLK);
  EXPECT_STREQ(sled_trace_last_error(), "sled_trace_snapshot: not allowed from a sled callback");
}

TEST(SessionApi, FromACallbackIsEdeadlk) {
  static sled_ops ops;
  ops.func = calls_trace_api;
  ASSERT_EQ(sled_set_filter(&ops, "trc_mark", 1), 0);
  ASSERT_EQ(sled_register_ops(&ops), 0);
  trc_mark();
  EXPECT_EQ(sled_unregister_ops(&ops), 0);
  EXPECT_EQ(g_rc_from_callback.load(), -EDEADLK);
}

}  // namespace
