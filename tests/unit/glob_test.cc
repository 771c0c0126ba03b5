// The '*' / '?' glob matcher.
#include "core/glob.h"

#include <gtest/gtest.h>

using sled::glob_match;

TEST(Glob, Literal) {
  EXPECT_TRUE(glob_match("foo", "foo"));
  EXPECT_FALSE(glob_match("foo", "foobar"));
  EXPECT_FALSE(glob_match("foo", "fo"));
  EXPECT_TRUE(glob_match("operator[]", "operator[]"));
}

TEST(Glob, Stars) {
  EXPECT_TRUE(glob_match("foo*", "foobar"));
  EXPECT_TRUE(glob_match("*bar", "foobar"));
  EXPECT_TRUE(glob_match("*oob*", "foobar"));
  EXPECT_TRUE(glob_match("f*r", "foobar"));
  EXPECT_FALSE(glob_match("f*z", "foobar"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(glob_match("?oo", "foo"));
}
