// fixture_variant.h — how the fixtures linked into this test executable were
// built. Defined per executable by fixture_variant.cc from compile
// definitions; the test drivers themselves are compiled once and shared.
#ifndef SLED_TESTS_FIXTURE_VARIANT_H
#define SLED_TESTS_FIXTURE_VARIANT_H

namespace sled_test {

struct FixtureVariant {
  const char *compiler;        // "gcc" | "clang" | "clang++"
  bool pie;                    // executable and fixture built as PIE
  bool cet;                    // fixture built with -fcf-protection=branch
  const char *shared_library;  // basename of the linked fixture library
  const char *dl_library;      // full path of the dlopen'ed fixture library
};

extern const FixtureVariant kVariant;

}  // namespace sled_test

#endif
