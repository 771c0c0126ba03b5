// Fault-injection specs (tracers/inject_spec.cc): accepted forms and the
// message of each malformed one.
#include "tracers/inject_spec.h"

#include <gtest/gtest.h>

namespace {

using sled::tracers::inject::Action;
using sled::tracers::inject::parse_spec;
using sled::tracers::inject::Spec;

Spec ok(const std::string &text) {
  Spec s;
  std::string error;
  EXPECT_TRUE(parse_spec(text, &s, &error)) << text << ": " << error;
  return s;
}

std::string bad(const std::string &text) {
  Spec s;
  std::string error;
  EXPECT_FALSE(parse_spec(text, &s, &error)) << text;
  return error;
}

TEST(InjectSpec, Forms) {
  Spec s = ok("parse_*:delay=100");
  EXPECT_EQ(s.pattern, "parse_*");
  EXPECT_EQ(s.action, Action::delay);
  EXPECT_EQ(s.delay_us, 100u);
  EXPECT_EQ(s.every, 1u);
  EXPECT_FALSE(s.has_prob);

  s = ok("ns::open_file:return=-5:every=3");
  EXPECT_EQ(s.pattern, "ns::open_file");
  EXPECT_EQ(s.action, Action::ret);
  EXPECT_EQ(s.value, static_cast<uint64_t>(-5));
  EXPECT_EQ(s.every, 3u);

  s = ok("a,b@libx.so:return=0x10:prob=0.25:seed=7");
  EXPECT_EQ(s.pattern, "a,b@libx.so");
  EXPECT_EQ(s.value, 16u);
  EXPECT_TRUE(s.has_prob);
  EXPECT_DOUBLE_EQ(s.prob, 0.25);
  EXPECT_TRUE(s.has_seed);
  EXPECT_EQ(s.seed, 7u);

  EXPECT_DOUBLE_EQ(ok("f:return=1:prob=1").prob, 1.0);
}

TEST(InjectSpec, Malformed) {
  EXPECT_EQ(bad("f"), "expected PATTERN:delay=USEC or PATTERN:return=VALUE");
  EXPECT_EQ(bad("f:sleep=3"), "expected PATTERN:delay=USEC or PATTERN:return=VALUE");
  EXPECT_EQ(bad(":return=1"), "empty pattern");
  EXPECT_EQ(bad("f:delay=0"), "delay='0': expected microseconds, 1 to 10000000");
  EXPECT_EQ(bad("f:delay=20000000"), "delay='20000000': expected microseconds, 1 to 10000000");
  EXPECT_EQ(bad("f:delay=-4"), "delay='-4': expected microseconds, 1 to 10000000");
  EXPECT_EQ(bad("f:return=x"), "return='x': expected an integer");
  EXPECT_EQ(bad("f:return="), "return='': expected an integer");
  EXPECT_EQ(bad("f:return=1:every=0"), "every='0': expected an integer >= 1");
  EXPECT_EQ(bad("f:return=1:prob=0"), "prob='0': expected a probability in (0, 1]");
  EXPECT_EQ(bad("f:return=1:prob=1.5"), "prob='1.5': expected a probability in (0, 1]");
  EXPECT_EQ(bad("f:return=1:every=2:prob=0.5"),
            "unexpected 'prob=0.5' (after the action: one of every=N or prob=P, and seed=N)");
  EXPECT_EQ(bad("f:return=1:delay=3"),
            "unexpected 'delay=3' (after the action: one of every=N or prob=P, and seed=N)");
  EXPECT_EQ(bad("f:return=1:"), "'' is not key=value");
  EXPECT_EQ(bad("f:return=1:seed=abc"), "seed='abc': expected an unsigned integer");
}

}  // namespace
