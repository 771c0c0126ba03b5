// fixture_variant.cc — compiled into each test executable with the
// definitions that describe its fixtures (see fixture_variant.h).
#include "fixture_variant.h"

#ifndef SLED_TEST_SHARED_LIBRARY
#define SLED_TEST_SHARED_LIBRARY ""
#endif
#ifndef SLED_TEST_DL_LIBRARY
#define SLED_TEST_DL_LIBRARY ""
#endif

namespace sled_test {

const FixtureVariant kVariant = {
    SLED_TEST_COMPILER,       SLED_TEST_PIE != 0,   SLED_TEST_CET != 0,
    SLED_TEST_SHARED_LIBRARY, SLED_TEST_DL_LIBRARY,
};

}  // namespace sled_test
