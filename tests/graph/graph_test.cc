// graph_test.cc — exit hooks (graph.h): exact entry/exit sequences for every
// way a hooked call can end (return, C++ exception, longjmp, signal
// handler, thread exit, pthread_cancel, fork, swapcontext, a shadow stack
// too shallow), several graph ops and plain ops on one function, an ops
// unregistered while hooked returns are pending, real return addresses for
// backtrace(), and the refusal under a hardware shadow stack. Every test
// runs with each dispatch strategy.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sled/graph.h>
#include <sled/sled.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
long gf_leaf(long);
long gf_mid(long);
long gf_top(long);
double gf_fp(double);
long gf_recurse(long);
long gf_tail(long);
long gf_catch(long);
long gf_pass_out(long);
long gf_setjmp(long);
long gf_signal(long);
long gf_exit_mid(long);
long gf_cancel_mid(long);
long gf_fork(long);
long gf_fork_child_returns(long);
long gf_swap(long);
int gf_bt_outer(void **, int);
long gf_block(std::atomic<int> *);
}

namespace {

// The event log: callbacks run in signal handlers and in threads being
// cancelled, so appending is lock-free and allocation-free: claim a slot,
// fill it, publish it (release; take_log acquires).
constexpr int kLogMax = 4096;
struct LogSlot {
  char text[64];
  std::atomic<int> ready;
};
LogSlot g_log[kLogMax];
std::atomic<int> g_log_n{0};

std::string name_of(uintptr_t ip) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(ip), &info) && info.dli_sname) {
    std::string n = info.dli_sname;
    return n.rfind("gf_", 0) == 0 ? n.substr(3) : n;
  }
  return "?";
}

void log_line(const char *kind, uintptr_t ip, long value = 0, bool with_value = false) {
  int i = g_log_n.fetch_add(1, std::memory_order_relaxed);
  if (i >= kLogMax) return;
  Dl_info info{};
  const char *n =
      dladdr(reinterpret_cast<void *>(ip), &info) && info.dli_sname ? info.dli_sname : "?";
  if (std::strncmp(n, "gf_", 3) == 0) n += 3;
  if (with_value)
    snprintf(g_log[i].text, sizeof g_log[i].text, "%s %s=%ld", kind, n, value);
  else
    snprintf(g_log[i].text, sizeof g_log[i].text, "%s %s", kind, n);
  g_log[i].ready.store(1, std::memory_order_release);
}

int log_size() { return g_log_n.load(std::memory_order_acquire); }

std::vector<std::string> take_log() {
  std::vector<std::string> out;
  int n = std::min(log_size(), kLogMax);
  for (int i = 0; i < n; i++) {
    while (g_log[i].ready.load(std::memory_order_acquire) == 0) sched_yield();
    out.emplace_back(g_log[i].text);
    g_log[i].ready.store(0, std::memory_order_relaxed);
  }
  g_log_n.store(0, std::memory_order_relaxed);
  return out;
}

int on_entry(uintptr_t ip, uintptr_t, sled_graph_ops *g, sled_regs *, uint64_t *data) {
  if (g->private_data && name_of(ip) == static_cast<const char *>(g->private_data)) return 0;
  log_line("E", ip);
  *data = ip ^ 0x5a5a;
  return 1;
}

void on_return(const sled_graph_ret *r, sled_graph_ops *) {
  EXPECT_EQ(r->data, r->ip ^ 0x5a5a);
  if (r->unwound)
    log_line("U", r->ip);
  else
    log_line("X", r->ip, static_cast<long>(r->retval[0]), true);
}

// Ends the process (a test failure) if the scope takes too long.
struct Watchdog {
  explicit Watchdog(unsigned s) { alarm(s); }
  ~Watchdog() { alarm(0); }
};

class GraphTest : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    ASSERT_EQ(sled_set_strategy(GetParam()), 0);
    take_log();
  }
  void TearDown() override {
    for (sled_graph_ops *g : registered_) EXPECT_EQ(sled_unregister_graph_ops(g), 0);
    for (sled_graph_ops *g : registered_) delete g;
    registered_.clear();
    take_log();
  }
  sled_graph_ops *Hook(const char *filter, const char *decline = nullptr) {
    auto *g = new sled_graph_ops{};
    g->entry = on_entry;
    g->ret = on_return;
    g->private_data = const_cast<char *>(decline);
    EXPECT_EQ(sled_set_filter(&g->ops, filter, 1), 0) << sled_last_error();
    EXPECT_EQ(sled_register_graph_ops(g), 0) << sled_last_error();
    registered_.push_back(g);
    return g;
  }
  std::vector<sled_graph_ops *> registered_;
  Watchdog dog_{60};
};

using Log = std::vector<std::string>;

TEST_P(GraphTest, NestedReturnsInOrderWithValues) {
  Hook("gf_*");
  EXPECT_EQ(gf_top(1), 6);
  EXPECT_EQ(take_log(), (Log{"E top", "E mid", "E leaf", "X leaf=2", "X mid=4", "E leaf",
                             "X leaf=2", "X top=6"}));
}

TEST_P(GraphTest, TailCallFromAHookedFunction) {
  Hook("gf_*");
  EXPECT_EQ(gf_tail(1), 3);
  EXPECT_EQ(take_log(), (Log{"E tail", "E leaf", "X leaf=3", "X tail=3"}));
}

TEST_P(GraphTest, FloatingPointReturnValue) {
  double seen = 0;
  static double *out;
  out = &seen;
  auto *g = new sled_graph_ops{};
  g->ret = [](const sled_graph_ret *r, sled_graph_ops *) { std::memcpy(out, r->fp_retval, 8); };
  ASSERT_EQ(sled_set_filter(&g->ops, "gf_fp", 1), 0);
  ASSERT_EQ(sled_register_graph_ops(g), 0);
  registered_.push_back(g);
  EXPECT_EQ(gf_fp(2.0), 3.0);
  EXPECT_EQ(seen, 3.0);
}

TEST_P(GraphTest, EntryMayDecline) {
  Hook("gf_*", "leaf");
  EXPECT_EQ(gf_top(1), 6);
  EXPECT_EQ(take_log(), (Log{"E top", "E mid", "X mid=4", "X top=6"}));
}

std::atomic<int> g_plain_calls{0};
TEST_P(GraphTest, TwoGraphOpsAndAPlainOpsOnOneFunction) {
  Hook("gf_leaf");
  Hook("gf_leaf");
  sled_ops plain{};
  plain.func = [](uintptr_t, uintptr_t parent, sled_ops *, sled_regs *regs) {
    // A graph ops earlier in the list may have hooked the return already:
    // the accessor still gives the real return address.
    EXPECT_EQ(sled_regs_return_address(regs), parent);
    g_plain_calls++;
  };
  ASSERT_EQ(sled_set_filter(&plain, "gf_leaf", 1), 0);
  ASSERT_EQ(sled_register_ops(&plain), 0);
  g_plain_calls = 0;
  EXPECT_EQ(gf_leaf(4), 5);
  EXPECT_EQ(g_plain_calls.load(), 1);
  EXPECT_EQ(take_log(), (Log{"E leaf", "E leaf", "X leaf=5", "X leaf=5"}));
  EXPECT_EQ(sled_unregister_ops(&plain), 0);
}

TEST_P(GraphTest, ExceptionsUnwindThroughHookedFrames) {
  Hook("gf_*");
  EXPECT_EQ(gf_catch(1), -1);
  EXPECT_EQ(take_log(), (Log{"E catch", "E pass", "E throw", "U throw", "U pass", "X catch=-1"}));
  bool caught = false;
  try {
    gf_pass_out(1);
  } catch (const std::runtime_error &e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
  EXPECT_EQ(take_log(),
            (Log{"E pass_out", "E pass", "E throw", "U throw", "U pass", "U pass_out"}));
  EXPECT_EQ(gf_top(1), 6);  // and everything still works afterwards
  EXPECT_EQ(take_log().size(), 8u);
}

TEST_P(GraphTest, LongjmpOutOfHookedFrames) {
  Hook("gf_*");
  EXPECT_EQ(gf_setjmp(5), 6);
  EXPECT_EQ(take_log(), (Log{"E setjmp", "E jump_mid", "E jump", "U jump", "U jump_mid", "E leaf",
                             "X leaf=6", "X setjmp=6"}));
}

TEST_P(GraphTest, SignalHandlerRunsHookedCode) {
  Hook("gf_*");
  EXPECT_EQ(gf_signal(1), 2);
  EXPECT_EQ(take_log(),
            (Log{"E signal", "E leaf", "X leaf=101", "E leaf", "X leaf=2", "X signal=2"}));
}

TEST_P(GraphTest, RecursionDeeperThanTheShadowStack) {
  Hook("gf_recurse");
  sled_graph_stats before{}, after{};
  ASSERT_EQ(sled_graph_get_stats(&before), 0);
  ASSERT_EQ(sled_graph_set_depth(16), 0);
  long result = 0;
  std::thread([&] { result = gf_recurse(40); }).join();  // a new thread: a new 16-deep stack
  ASSERT_EQ(sled_graph_set_depth(SLED_GRAPH_DEFAULT_DEPTH), 0);
  EXPECT_EQ(result, 40);
  ASSERT_EQ(sled_graph_get_stats(&after), 0);
  EXPECT_EQ(after.missed_depth - before.missed_depth, 41u - 16u);
  Log log = take_log();
  ASSERT_EQ(log.size(), 32u);
  for (int i = 0; i < 16; i++) EXPECT_EQ(log[i], "E recurse");
  for (int i = 0; i < 16; i++) EXPECT_EQ(log[16 + i], "X recurse=" + std::to_string(25 + i));
  EXPECT_EQ(sled_graph_set_depth(0), -EINVAL);
}

TEST_P(GraphTest, PthreadExitInsideHookedFrames) {
  Hook("gf_*");
  pthread_t t;
  ASSERT_EQ(pthread_create(
                &t, nullptr, [](void *) -> void * { return (void *)gf_exit_mid(1); }, nullptr),
            0);
  void *res = reinterpret_cast<void *>(1);
  ASSERT_EQ(pthread_join(t, &res), 0);
  EXPECT_EQ(res, nullptr);
  EXPECT_EQ(take_log(), (Log{"E exit_mid", "E exit_thread", "U exit_thread", "U exit_mid"}));
}

TEST_P(GraphTest, PthreadCancelInsideHookedFrames) {
  Hook("gf_*");
  pthread_t t;
  ASSERT_EQ(pthread_create(
                &t, nullptr, [](void *) -> void * { return (void *)gf_cancel_mid(1); }, nullptr),
            0);
  for (int i = 0; i < 2000 && log_size() < 2; i++) usleep(1000);
  usleep(20000);  // into pause()
  ASSERT_EQ(pthread_cancel(t), 0);
  void *res = nullptr;
  ASSERT_EQ(pthread_join(t, &res), 0);
  EXPECT_EQ(res, PTHREAD_CANCELED);
  EXPECT_EQ(take_log(), (Log{"E cancel_mid", "E cancel_wait", "U cancel_wait", "U cancel_mid"}));
}

TEST_P(GraphTest, ForkInsideHookedFrames) {
  Hook("gf_*");
  EXPECT_EQ(gf_fork(3), 7);  // the child traced gf_leaf and returned through it
  Log log = take_log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.front(), "E fork");
  EXPECT_EQ(log.back(), "X fork=7");
  // Both processes return through a frame hooked before the fork.
  long pid = gf_fork_child_returns(0);
  if (pid == 0) _exit(take_log().back() == "X fork_child_returns=0" ? 0 : 3);
  int status = -1;
  ASSERT_EQ(waitpid(static_cast<pid_t>(pid), &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_P(GraphTest, SwapcontextWithHookedFramesOnBothStacks) {
  Hook("gf_*");
  EXPECT_EQ(gf_swap(1), 2);
  EXPECT_EQ(take_log(),
            (Log{"E swap", "E co_body", "E leaf", "X leaf=2", "E co_yield", "E leaf", "X leaf=2",
                 "X co_yield=3", "X co_body=3", "E leaf", "X leaf=2", "X swap=2"}));
}

std::atomic<int> g_returns_after_unregister{0};
TEST_P(GraphTest, UnregisterWhileReturnsArePendingElsewhere) {
  auto *g = new sled_graph_ops{};
  g->ret = [](const sled_graph_ret *, sled_graph_ops *) { g_returns_after_unregister++; };
  ASSERT_EQ(sled_set_filter(&g->ops, "gf_block", 1), 0);
  ASSERT_EQ(sled_register_graph_ops(g), 0);
  std::atomic<int> gate{0};
  long result = 0;
  std::thread t([&] { result = gf_block(&gate); });
  while (gate.load() == 0) sched_yield();  // hooked and inside the body
  ASSERT_EQ(sled_unregister_graph_ops(g), 0);
  std::memset(static_cast<void *>(g), 0xa5, sizeof *g);  // the rule: free at once
  delete g;
  gate.store(2);
  t.join();
  EXPECT_EQ(result, 2);
  EXPECT_EQ(g_returns_after_unregister.load(), 0);
  EXPECT_EQ(sled_unregister_graph_ops(registered_.empty() ? nullptr : registered_[0]),
            registered_.empty() ? -EINVAL : 0);
  registered_.clear();
}

bool has_function(void **buf, int n, const char *name) {
  for (int i = 0; i < n; i++) {
    Dl_info info{};
    if (dladdr(buf[i], &info) && info.dli_sname && std::strstr(info.dli_sname, name)) return true;
  }
  return false;
}

TEST_P(GraphTest, BacktraceSeesRealReturnAddresses) {
  Hook("gf_*");
  void *buf[64];
  int n = gf_bt_outer(buf, 64);
  ASSERT_GT(n, 1);
  EXPECT_TRUE(has_function(buf, n, "gf_bt_outer"));
  for (int i = 0; i < n; i++) EXPECT_FALSE(has_function(buf + i, 1, "sled_graph"));
  // The whole walk, down to gtest's frames (the test body's symbol is local).
  EXPECT_TRUE(has_function(buf, n, "UnitTest3Run")) << [&] {
    std::string all;
    for (int i = 0; i < n; i++) {
      Dl_info info{};
      all += dladdr(buf[i], &info) && info.dli_sname ? info.dli_sname : "?";
      all += " ";
    }
    return all;
  }();
  take_log();
}

INSTANTIATE_TEST_SUITE_P(Strategies, GraphTest, ::testing::Values("callops", "list", "dyntramp"));

TEST(GraphRefusal, HardwareShadowStackRefusesGraphOpsOnly) {
  setenv("SLED_FAKE_SHADOW_STACK", "1", 1);
  sled_graph_ops g{};
  g.ret = [](const sled_graph_ret *, sled_graph_ops *) {};
  EXPECT_EQ(sled_graph_supported(), -EOPNOTSUPP);
  EXPECT_EQ(sled_register_graph_ops(&g), -EOPNOTSUPP);
  EXPECT_NE(std::strstr(sled_last_error(), "shadow stack"), nullptr) << sled_last_error();
  sled_ops plain{};
  plain.func = [](uintptr_t, uintptr_t, sled_ops *, sled_regs *) {};
  ASSERT_EQ(sled_set_filter(&plain, "gf_leaf", 1), 0);
  EXPECT_EQ(sled_register_ops(&plain), 0);
  EXPECT_EQ(gf_leaf(1), 2);
  EXPECT_EQ(sled_unregister_ops(&plain), 0);
  unsetenv("SLED_FAKE_SHADOW_STACK");
  EXPECT_EQ(sled_graph_supported(), 0);
}

TEST(GraphApi, BadArguments) {
  EXPECT_EQ(sled_register_graph_ops(nullptr), -EINVAL);
  sled_graph_ops g{};
  EXPECT_EQ(sled_register_graph_ops(&g), -EINVAL);  // no return callback
  EXPECT_EQ(sled_unregister_graph_ops(&g), -ENOENT);
  g.ret = [](const sled_graph_ret *, sled_graph_ops *) {};
  ASSERT_EQ(sled_set_filter(&g.ops, "gf_leaf", 1), 0);
  ASSERT_EQ(sled_register_graph_ops(&g), 0);
  EXPECT_EQ(sled_register_graph_ops(&g), -EEXIST);
  EXPECT_EQ(sled_unregister_graph_ops(&g), 0);
  EXPECT_EQ(sled_unregister_graph_ops(&g), -ENOENT);
}

}  // namespace
