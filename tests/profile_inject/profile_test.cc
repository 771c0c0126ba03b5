// The profile tracer (tracers/profile.cc) in a real process, over the
// in-memory recorder of the tracer tests: exact call counts per function,
// the time identities (total of the outermost call = sum of every function's
// self time; max <= total), threads that exited counted, a restart starting
// from zero, traceoff counting nothing. With each strategy.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pi_fix.h"
#include "sled/trace.h"

namespace {

using Table = std::map<std::string, sled_profile_entry>;

Table read_profile() {
  Table t;
  int rc = sled_profile_read(
      [](const sled_profile_entry *e, void *arg) {
        (*static_cast<Table *>(arg))[e->name] = *e;
        return 0;
      },
      &t);
  EXPECT_EQ(rc, 0) << sled_trace_last_error();
  return t;
}

class Profile : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    ASSERT_EQ(sled_set_strategy(GetParam()), 0);
    ASSERT_EQ(sled_trace_open("dir=profile-test.trace"), 0) << sled_trace_last_error();
  }
  void TearDown() override {
    sled_tracer_stop("profile");
    EXPECT_EQ(sled_trace_close(), 0) << sled_trace_last_error();
  }
  void start(const char *filter = "filter=pi_outer,pi_inner,pi_leaf,pi_recurse") {
    ASSERT_EQ(sled_tracer_start("profile", filter), 0) << sled_trace_last_error();
  }
};

INSTANTIATE_TEST_SUITE_P(Strategies, Profile, ::testing::Values("callops", "list", "dyntramp"));

TEST_P(Profile, CountsAndTimes) {
  start();
  pi_outer(10, 2000);
  Table t = read_profile();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t["pi_outer"].calls, 1u);
  EXPECT_EQ(t["pi_inner"].calls, 10u);
  EXPECT_EQ(t["pi_leaf"].calls, 11u);
  const sled_profile_entry &o = t["pi_outer"], &i = t["pi_inner"], &l = t["pi_leaf"];
  // All the time of the one outer call is someone's self time (conversion
  // to ns may round each sum by one).
  uint64_t selfs = o.self_ns + i.self_ns + l.self_ns;
  EXPECT_LE(selfs, o.total_ns + 3);
  EXPECT_GE(selfs + 3, o.total_ns);
  EXPECT_EQ(o.max_ns, o.total_ns);  // one call
  EXPECT_GT(o.total_ns, i.total_ns);
  EXPECT_GT(i.total_ns, 0u);
  EXPECT_LE(i.self_ns, i.total_ns);
  EXPECT_LE(i.max_ns, i.total_ns);
  EXPECT_GE(i.max_ns * 10, i.total_ns);
  EXPECT_LT(l.self_ns, l.total_ns + 1);
  EXPECT_EQ(l.self_ns, l.total_ns);  // a leaf has no timed children
}

TEST_P(Profile, ExitedThreadsAreCounted) {
  start();
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; n++)
    threads.emplace_back([] {
      for (int k = 0; k < 100; k++) pi_inner(10);
    });
  for (auto &th : threads) th.join();
  pi_inner(10);
  Table t = read_profile();
  EXPECT_EQ(t["pi_inner"].calls, 401u);
  EXPECT_EQ(t["pi_leaf"].calls, 401u);
  EXPECT_EQ(t.count("pi_outer"), 0u);
}

TEST_P(Profile, RecursionCountsEveryLevel) {
  start();
  pi_recurse(6);
  Table t = read_profile();
  EXPECT_EQ(t["pi_recurse"].calls, 6u);
  // Self times of the levels add up to the outermost call's duration, which
  // is the largest one.
  EXPECT_LE(t["pi_recurse"].self_ns, t["pi_recurse"].max_ns + 6);
}

TEST_P(Profile, RestartStartsFromZeroAndStopKeepsTheTable) {
  start();
  pi_inner(1);
  pi_inner(1);
  ASSERT_EQ(sled_tracer_stop("profile"), 0) << sled_trace_last_error();
  pi_inner(1);  // not traced
  EXPECT_EQ(read_profile()["pi_inner"].calls, 2u);
  start("filter=pi_inner");
  pi_inner(1);
  Table t = read_profile();
  EXPECT_EQ(t["pi_inner"].calls, 1u);
  EXPECT_EQ(t.count("pi_leaf"), 0u);
}

TEST_P(Profile, TraceoffCountsNothing) {
  start();
  ASSERT_EQ(sled_trace_off(), 0);
  pi_inner(1);
  ASSERT_EQ(sled_trace_on(), 0);
  pi_leaf(1);
  Table t = read_profile();
  EXPECT_EQ(t.count("pi_inner"), 0u);
  EXPECT_EQ(t["pi_leaf"].calls, 1u);
}

TEST_P(Profile, BadOptionsAndFilters) {
  EXPECT_EQ(sled_tracer_start("profile", "args=2"), -EINVAL);
  EXPECT_EQ(sled_tracer_start("profile", "filter=no_such_function_xyz"), -ENOENT);
  EXPECT_NE(std::string(sled_trace_last_error()).find("no_such_function_xyz"), std::string::npos)
      << sled_trace_last_error();
  start();  // nothing was left behind
  pi_leaf(1);
  EXPECT_EQ(read_profile()["pi_leaf"].calls, 1u);
}

TEST(ProfileRead, NullCallback) { EXPECT_EQ(sled_profile_read(nullptr, nullptr), -EINVAL); }

}  // namespace
