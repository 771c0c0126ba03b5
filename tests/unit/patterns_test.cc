// Pattern parsing and demangled-name trimming.
#include "core/patterns.h"

#include <gtest/gtest.h>

#include <cerrno>

using sled::Pattern;

namespace {
std::vector<Pattern> parse(const char *text, int want = 0) {
  std::vector<Pattern> out;
  EXPECT_EQ(sled::parse_patterns(text, &out), want) << text;
  return out;
}
}  // namespace

TEST(Patterns, SeparatorsNegationModules) {
  auto p = parse(" foo,bar*  !baz@libx*.so ,");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "foo");
  EXPECT_EQ(p[1].name, "bar*");
  EXPECT_TRUE(p[2].negate);
  EXPECT_EQ(p[2].name, "baz");
  EXPECT_EQ(p[2].module, "libx*.so");
}

TEST(Patterns, ParameterListsStayWhole) {
  auto p = parse("ns::f(int, char) tmpl<a, b>*");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "ns::f(int, char)");
  EXPECT_EQ(p[1].name, "tmpl<a, b>*");
}

TEST(Patterns, Malformed) {
  parse("!", -EINVAL);
  parse("@", -EINVAL);
  parse("foo@", -EINVAL);
  parse("!@x", -EINVAL);
  parse("fo!o", -EINVAL);
  parse("a\x01", -EINVAL);
  EXPECT_TRUE(parse("").empty());
}

TEST(Patterns, BareFunctionName) {
  EXPECT_EQ(sled::bare_function_name("ns::f(int)"), "ns::f");
  EXPECT_EQ(sled::bare_function_name("void ns::tmpl<int>(int)"), "ns::tmpl<int>");
  EXPECT_EQ(sled::bare_function_name("ns::K::method() const"), "ns::K::method");
  EXPECT_EQ(sled::bare_function_name("ns::K::operator()(int)"), "ns::K::operator()");
  EXPECT_EQ(sled::bare_function_name("plain"), "plain");
  EXPECT_EQ(sled::bare_function_name("std::vector<int, std::allocator<int> >::size() const"),
            "std::vector<int, std::allocator<int> >::size");
}
