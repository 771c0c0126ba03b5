// The option words of tracers/options.h: the parsing every sled_trace_open,
// sled_tracer_start and the preload agent's settings go through.
#include "tracers/options.h"

#include <gtest/gtest.h>

#include <cerrno>

using namespace sled::tracers;

TEST(Options, WordsSplitOnBlanks) {
  Options o;
  std::string error;
  ASSERT_EQ(parse_words("  dir=/tmp/x\tbuffer=4M  filter=a*,b@lib*.so ", o, &error), 0) << error;
  EXPECT_EQ(o.size(), 3u);
  EXPECT_EQ(o["dir"], "/tmp/x");
  EXPECT_EQ(o["buffer"], "4M");
  EXPECT_EQ(o["filter"], "a*,b@lib*.so");
  ASSERT_EQ(parse_words(nullptr, o, &error), 0);
  EXPECT_TRUE(o.empty());
  ASSERT_EQ(parse_words("k=", o, &error), 0);
  EXPECT_EQ(o["k"], "");
  ASSERT_EQ(parse_words("k=a=b", o, &error), 0);
  EXPECT_EQ(o["k"], "a=b");
}

TEST(Options, MalformedWordsChangeNothing) {
  Options o{{"keep", "1"}};
  std::string error;
  EXPECT_EQ(parse_words("a=1 lonely", o, &error), -EINVAL);
  EXPECT_EQ(error, "option 'lonely' is not key=value");
  EXPECT_EQ(parse_words("=1", o, &error), -EINVAL);
  EXPECT_EQ(error, "option '=1' has no key");
  EXPECT_EQ(parse_words("a=1 a=2", o, &error), -EINVAL);
  EXPECT_EQ(error, "option 'a' given twice");
  EXPECT_EQ(o.size(), 1u);
  EXPECT_EQ(o["keep"], "1");
}

TEST(Options, KeysAreChecked) {
  const char *const common[] = {"filter", "notrace", nullptr};
  const char *const extra[] = {"args", nullptr};
  std::string error;
  EXPECT_EQ(check_keys({{"filter", "x"}, {"args", "2"}}, common, extra, "t", &error), 0);
  EXPECT_EQ(check_keys({{"bogus", "x"}}, common, extra, "function_graph", &error), -EINVAL);
  EXPECT_EQ(error, "unknown option 'bogus' for function_graph (known: filter, notrace, args)");
  EXPECT_EQ(check_keys({{"x", "1"}}, nullptr, nullptr, "p", &error), -EINVAL);
  EXPECT_EQ(error, "unknown option 'x' for p (it takes none)");
}

TEST(Options, Sizes) {
  size_t v = 0;
  std::string error;
  EXPECT_EQ(parse_size("buffer", "4096", &v, &error), 0);
  EXPECT_EQ(v, 4096u);
  EXPECT_EQ(parse_size("buffer", "64k", &v, &error), 0);
  EXPECT_EQ(v, 64u << 10);
  EXPECT_EQ(parse_size("buffer", "4M", &v, &error), 0);
  EXPECT_EQ(v, 4u << 20);
  EXPECT_EQ(parse_size("buffer", "1G", &v, &error), 0);
  EXPECT_EQ(v, 1u << 30);
  v = 7;
  for (const char *bad : {"", "K", "0", "-1", "+4", "4KB", "4 K", "1.5M", "4T",
                          "18446744073709551616", "17179869184G"}) {
    EXPECT_EQ(parse_size("buffer", bad, &v, &error), -EINVAL) << bad;
    EXPECT_NE(error.find("buffer="), std::string::npos) << error;
  }
  EXPECT_EQ(v, 7u);
}

TEST(Options, IntegersBooleansChoices) {
  uint64_t n = 9;
  bool b = false;
  unsigned i = 9;
  std::string error;
  EXPECT_EQ(parse_uint("args", "8", 0, 8, &n, &error), 0);
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(parse_uint("args", "9", 0, 8, &n, &error), -EINVAL);
  EXPECT_EQ(error, "args='9' is not an integer in 0..8");
  EXPECT_EQ(parse_uint("args", "", 0, 8, &n, &error), -EINVAL);
  EXPECT_EQ(parse_uint("args", "0x1", 0, 8, &n, &error), -EINVAL);
  EXPECT_EQ(parse_bool("retval", "1", &b, &error), 0);
  EXPECT_TRUE(b);
  EXPECT_EQ(parse_bool("retval", "yes", &b, &error), -EINVAL);
  EXPECT_EQ(error, "retval='yes' is not 0 or 1");
  const char *const modes[] = {"drop", "overwrite", nullptr};
  EXPECT_EQ(parse_choice("mode", "overwrite", modes, &i, &error), 0);
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(parse_choice("mode", "fast", modes, &i, &error), -EINVAL);
  EXPECT_EQ(error, "mode='fast' is not one of drop|overwrite");
}
