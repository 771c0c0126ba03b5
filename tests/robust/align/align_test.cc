// align_test.cc — traced functions called with the stack 8 bytes off the
// ABI's 16-byte alignment (GCC does this to static functions whose callers
// it all knows; align_caller.S does it deterministically). Every call sled
// makes out to C/C++ from such a site must still see an aligned %rsp:
// callbacks doing aligned SSE stores to their stack (movaps) crashed when
// the trampoline passed the misalignment on. Covered: a plain ops on the
// fast path (with and without SLED_OPS_FL_SAVES_REGS) and on the slow path
// (first call on a thread, nested call), backtrace() from such a callback
// (the trampoline's CFI while %rsp is realigned), the function and
// function_graph tracers and the stacktrace trigger through trace.h, and a
// C++ exception unwinding through a graph-hooked function called that way
// (the landing pad). x86_64 only.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <sled/sled.h>
#include <sled/trace.h>
#include <xmmintrin.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

extern "C" {
long al_target(long x);
long al_calls_back(long fn);
long al_call_misaligned(long (*fn)(long), long arg);
long al_gcc_outer(long a);
extern volatile long al_gcc_sink;
void al_call_misaligned_end();
}

namespace {

std::atomic<int> g_calls{0};
std::atomic<int> g_misaligned{0};

// Aligned SSE work on the stack: movaps to an alignas(16) local, which
// faults when %rsp is not 16-byte aligned at the call. Also counts
// misaligned frames, so the failure says what went wrong if it does not.
__attribute__((noinline)) void aligned_sse_work() {
  alignas(16) float v[4];
  __m128 x = _mm_set_ps(1.0f, 2.0f, 3.0f, 4.0f);
  _mm_store_ps(v, _mm_add_ps(x, _mm_load_ps(v)));
  __asm__ volatile("" : : "r"(v) : "memory");
  if (reinterpret_cast<uintptr_t>(v) % 16 != 0) g_misaligned.fetch_add(1);
}

void SseCallback(uintptr_t ip, uintptr_t, sled_ops *, sled_regs *) {
  aligned_sse_work();
  if (ip == reinterpret_cast<uintptr_t>(&al_target)) g_calls.fetch_add(1);
}

// Nested: the callback's own traced call takes the slow path (nest > 0).
void NestingCallback(uintptr_t ip, uintptr_t p, sled_ops *o, sled_regs *r) {
  SseCallback(ip, p, o, r);
  static thread_local bool inside;
  if (inside) return;
  inside = true;
  al_call_misaligned(&al_target, 1);
  inside = false;
}

std::atomic<int> g_frames_in_caller{0};
void BacktraceCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  aligned_sse_work();
  void *frames[32];
  int n = backtrace(frames, 32);
  auto lo = reinterpret_cast<uintptr_t>(&al_call_misaligned);
  auto hi = reinterpret_cast<uintptr_t>(&al_call_misaligned_end);
  for (int i = 0; i < n; i++) {
    auto pc = reinterpret_cast<uintptr_t>(frames[i]);
    if (pc > lo && pc <= hi) g_frames_in_caller.fetch_add(1);
  }
}

class Traced {
 public:
  explicit Traced(sled_func_t fn, unsigned long flags = 0) {
    ops_.func = fn;
    ops_.flags = flags;
    ok_ = sled_set_filter(&ops_, "al_target", 0) == 0 && sled_register_ops(&ops_) == 0;
  }
  ~Traced() {
    if (ok_) sled_unregister_ops(&ops_);
  }
  bool ok() const { return ok_; }

 private:
  sled_ops ops_{};
  bool ok_ = false;
};

// Calls from a new thread: its first traced call goes through the slow
// path (no thread record yet), the next ones through the fast path.
void CallOnNewThread(int times) {
  std::thread t([times] {
    for (int i = 0; i < times; i++) EXPECT_EQ(al_call_misaligned(&al_target, i), 2 * i + 1);
  });
  t.join();
}

TEST(Align, PlainOpsFastAndSlowPaths) {
  g_calls = 0;
  g_misaligned = 0;
  Traced t(&SseCallback);
  ASSERT_TRUE(t.ok());
  CallOnNewThread(3);                              /* slow, fast, fast */
  EXPECT_EQ(al_call_misaligned(&al_target, 4), 9); /* this thread */
  EXPECT_EQ(al_target(5), 11);                     /* an aligned call too */
  EXPECT_EQ(g_calls.load(), 5);
  EXPECT_EQ(g_misaligned.load(), 0);
}

TEST(Align, OpsThatSavesRegisters) {
  g_calls = 0;
  g_misaligned = 0;
  Traced t(&SseCallback, SLED_OPS_FL_SAVES_REGS);
  ASSERT_TRUE(t.ok());
  CallOnNewThread(2);
  EXPECT_EQ(al_call_misaligned(&al_target, 4), 9);
  EXPECT_EQ(g_calls.load(), 3);
  EXPECT_EQ(g_misaligned.load(), 0);
}

TEST(Align, NestedCallTakesTheSlowPath) {
  g_calls = 0;
  g_misaligned = 0;
  Traced t(&NestingCallback);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(al_call_misaligned(&al_target, 4), 9);
  /* The nested call goes through sled_dispatch, whose recursion guard
   * skips its callback. */
  EXPECT_EQ(g_calls.load(), 1);
  EXPECT_EQ(g_misaligned.load(), 0);
}

TEST(Align, BacktraceFromCallbackReachesTheCaller) {
  g_frames_in_caller = 0;
  Traced t(&BacktraceCallback);
  ASSERT_TRUE(t.ok());
  CallOnNewThread(2);
  EXPECT_EQ(g_frames_in_caller.load(), 2);
}

// GCC's own misaligned call of a static function (align_gcc.c), first on a
// new thread (slow path), then fast.
std::atomic<int> g_gcc_calls{0}, g_gcc_misaligned_calls{0};
void GccCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *regs) {
  aligned_sse_work();
  g_gcc_calls.fetch_add(1);
  /* The return address sits at %rsp - 8 of the call: 0 mod 16 when the
   * call was misaligned. */
  if (sled_regs_stack_pointer(regs) % 16 == 0) g_gcc_misaligned_calls.fetch_add(1);
}

TEST(Align, GccStaticFunction) {
  g_gcc_calls = 0;
  g_gcc_misaligned_calls = 0;
  g_misaligned = 0;
  sled_ops ops{};
  ops.func = &GccCallback;
  ASSERT_EQ(sled_set_filter(&ops, "al_gcc_leaf", 0), 0);
  ASSERT_EQ(sled_register_ops(&ops), 0);
  std::thread t([] {
    al_gcc_sink = 0;
    EXPECT_EQ(al_gcc_outer(2), 12); /* leaf(2) = 2, leaf(2) = 4: (2 + 4) * 2 */
    EXPECT_EQ(al_gcc_outer(1), 15); /* leaf(1) = 5, leaf(5) = 10: (5 + 10) * 1 */
  });
  t.join();
  EXPECT_EQ(sled_unregister_ops(&ops), 0);
  EXPECT_EQ(g_gcc_calls.load(), 4);
  EXPECT_EQ(g_gcc_misaligned_calls.load(), 4);
  EXPECT_EQ(g_misaligned.load(), 0);
}

class Session : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo *t = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string("align.") + t->name();
    ASSERT_EQ(sled_trace_open(("dir=" + dir_).c_str()), 0) << sled_trace_last_error();
  }
  void TearDown() override {
    sled_trigger_clear();
    if (open_) EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  uint64_t CloseAndCountEvents() {
    open_ = false;
    EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
    sled_trace_stats st{};
    EXPECT_EQ(sled_trace_get_stats(&st), 0);
    EXPECT_EQ(st.lost, 0u);
    return st.events;
  }
  std::string dir_;
  bool open_ = true;
};

TEST_F(Session, FunctionTracer) {
  ASSERT_EQ(sled_tracer_start("function", "filter=al_target"), 0) << sled_trace_last_error();
  CallOnNewThread(3);
  EXPECT_EQ(al_call_misaligned(&al_target, 4), 9);
  EXPECT_EQ(CloseAndCountEvents(), 4u);
}

TEST_F(Session, FunctionGraphTracer) {
  ASSERT_EQ(sled_tracer_start("function_graph", "filter=al_target"), 0) << sled_trace_last_error();
  CallOnNewThread(3);
  EXPECT_EQ(al_call_misaligned(&al_target, 4), 9);
  EXPECT_EQ(CloseAndCountEvents(), 8u); /* entry and exit of each call */
}

TEST_F(Session, StacktraceTrigger) {
  ASSERT_EQ(sled_tracer_start("function", "filter=al_target"), 0) << sled_trace_last_error();
  ASSERT_EQ(sled_trigger_add("al_target:stacktrace"), 0) << sled_trace_last_error();
  CallOnNewThread(2);
  EXPECT_EQ(CloseAndCountEvents(), 4u); /* each call and its stack */
}

long Thrower(long) { throw std::runtime_error("through a graph frame"); }

TEST_F(Session, ExceptionThroughAGraphFrame) {
  ASSERT_EQ(sled_tracer_start("function_graph", "filter=al_calls_back"), 0)
      << sled_trace_last_error();
  std::thread t([] {
    for (int i = 0; i < 2; i++) {
      bool caught = false;
      try {
        al_call_misaligned(&al_calls_back, reinterpret_cast<long>(&Thrower));
      } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "through a graph frame";
      }
      EXPECT_TRUE(caught);
    }
    auto ok = [](long x) -> long { return x * 10; };
    EXPECT_EQ(al_call_misaligned(&al_calls_back, reinterpret_cast<long>(+ok)), 31);
  });
  t.join();
  EXPECT_EQ(CloseAndCountEvents(), 6u); /* entry and exit (or unwind) of each */
}

}  // namespace
