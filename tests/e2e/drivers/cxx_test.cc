// cxx_test.cc — C++ sites (fixtures/fix_cxx.cc, clang++): namespaced member
// and static functions, overloads, function and class templates, an inline
// (COMDAT) function; found under their mangled symbol names and selected by
// demangled-name patterns (with or without the parameter list) or by the
// mangled name; exceptions still pass through a traced function.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

#include "fix_cxx.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

struct CxxFunction {
  const char *mangled;
  uintptr_t address;
};

// Member function pointers do not convert to addresses: take the symbols'
// addresses from plain function pointers where C++ allows it.
uintptr_t MethodAddress() {
  int (ns::Klass::*pmf)(int) = &ns::Klass::method;
  uintptr_t address;
  static_assert(sizeof pmf >= sizeof address);
  std::memcpy(&address, &pmf, sizeof address);  // non-virtual: the code address
  return address;
}
uintptr_t BoxGetAddress() {
  int (ns::Box<int>::*pmf)() const = &ns::Box<int>::get;
  uintptr_t address;
  std::memcpy(&address, &pmf, sizeof address);
  return address;
}

std::vector<CxxFunction> CxxFunctions() {
  return {
      {"_ZN2ns5Klass6methodEi", MethodAddress()},
      {"_ZN2ns5Klass7smethodEi", Addr(&ns::Klass::smethod)},
      {"_ZN2ns4overEi", Addr(static_cast<int (*)(int)>(&ns::over))},
      {"_ZN2ns4overEd", Addr(static_cast<double (*)(double)>(&ns::over))},
      {"_ZN2ns4tmplIiEET_S1_", Addr(&ns::tmpl<int>)},
      {"_ZN2ns4tmplIdEET_S1_", Addr(&ns::tmpl<double>)},
      {"_ZNK2ns3BoxIiE3getEv", BoxGetAddress()},
      {"_ZN2ns3inlEi", Addr(fixcxx_inline_address())},
      {"_ZN2ns7throwerEi", Addr(&ns::thrower)},
  };
}

// Calls every fixture function once; returns the mangled names of those the
// tracer saw.
std::set<std::string> Traced(Tracer &tracer) {
  tracer.Clear();
  ns::Klass k{10};
  EXPECT_EQ(k.method(5), 15);
  EXPECT_EQ(ns::Klass::smethod(4), 12);
  EXPECT_EQ(ns::over(1), 101);
  EXPECT_EQ(ns::over(3.0), 1.5);
  EXPECT_EQ(ns::tmpl<int>(21), 42);
  EXPECT_EQ(ns::tmpl<double>(0.25), 0.5);
  ns::Box<int> box{77};
  EXPECT_EQ(box.get(), 77);
  EXPECT_EQ(fixcxx_inline_address()(3), 27);
  EXPECT_EQ(ns::thrower(1), 2);
  std::set<std::string> seen;
  for (const CxxFunction &f : CxxFunctions()) {
    size_t n = tracer.Count(f.address);
    EXPECT_LE(n, 1u) << f.mangled;
    if (n) seen.insert(f.mangled);
  }
  tracer.Clear();
  return seen;
}

using Names = std::set<std::string>;

class Cxx : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(tracer.Register(), 0); }
  Names With(const char *patterns) {
    EXPECT_EQ(tracer.SetFilter(patterns), 0) << patterns;
    return Traced(tracer);
  }
  Tracer tracer;
};

TEST_F(Cxx, SitesFoundUnderMangledNames) {
  const std::string exe = ExeBasename();
  for (const CxxFunction &f : CxxFunctions()) {
    sled_site_info info{};
    ASSERT_EQ(sled_site_lookup(f.address, &info), 0) << f.mangled;
    EXPECT_STREQ(info.name, f.mangled);
    EXPECT_EQ(exe, info.module) << f.mangled;
    EXPECT_EQ(info.refusal, SLED_SITE_OK) << f.mangled;
  }
}

TEST_F(Cxx, EmptyFilterTracesEveryFunction) {
  EXPECT_EQ(Traced(tracer).size(), CxxFunctions().size());
}

TEST_F(Cxx, DemangledNameWithoutParameters) {
  EXPECT_EQ(With("ns::Klass::method"), Names({"_ZN2ns5Klass6methodEi"}));
  EXPECT_EQ(With("ns::Klass::*"), Names({"_ZN2ns5Klass6methodEi", "_ZN2ns5Klass7smethodEi"}));
  EXPECT_EQ(With("ns::inl"), Names({"_ZN2ns3inlEi"}));
  EXPECT_EQ(With("ns::Box<int>::get"), Names({"_ZNK2ns3BoxIiE3getEv"}));
}

TEST_F(Cxx, OverloadsByNameOrBySignature) {
  EXPECT_EQ(With("ns::over"), Names({"_ZN2ns4overEi", "_ZN2ns4overEd"}));
  EXPECT_EQ(With("ns::over(double)"), Names({"_ZN2ns4overEd"}));
  EXPECT_EQ(With("ns::over(int)"), Names({"_ZN2ns4overEi"}));
}

TEST_F(Cxx, TemplateInstances) {
  EXPECT_EQ(With("ns::tmpl<int>*"), Names({"_ZN2ns4tmplIiEET_S1_"}));
  EXPECT_EQ(With("*ns::tmpl<*"), Names({"_ZN2ns4tmplIiEET_S1_", "_ZN2ns4tmplIdEET_S1_"}));
}

TEST_F(Cxx, MangledName) {
  EXPECT_EQ(With("_ZN2ns5Klass6methodEi"), Names({"_ZN2ns5Klass6methodEi"}));
  EXPECT_EQ(With("_ZN2ns4over*"), Names({"_ZN2ns4overEi", "_ZN2ns4overEd"}));
}

TEST_F(Cxx, NegatedDemangledPattern) {
  EXPECT_EQ(With("*ns::* !ns::over !ns::Klass::*"),
            Names({"_ZN2ns4tmplIiEET_S1_", "_ZN2ns4tmplIdEET_S1_", "_ZNK2ns3BoxIiE3getEv",
                   "_ZN2ns3inlEi", "_ZN2ns7throwerEi"}));
}

TEST_F(Cxx, ArgumentsOfAMemberFunction) {
  ASSERT_EQ(tracer.SetFilter("ns::Klass::method"), 0);
  ns::Klass k{1};
  EXPECT_EQ(k.method(41), 42);
  ASSERT_EQ(tracer.Total(), 1u);
  Hit hit = tracer.Hits()[0];
  EXPECT_EQ(hit.args[0], Addr(&k));  // this
  EXPECT_EQ(int(hit.args[1]), 41);
}

TEST_F(Cxx, ExceptionPassesThroughATracedFunction) {
  ASSERT_EQ(tracer.SetFilter("ns::thrower"), 0);
  for (int i = 0; i < 3; i++) EXPECT_THROW(ns::thrower(-1), std::runtime_error);
  EXPECT_EQ(ns::thrower(5), 6);
  EXPECT_EQ(tracer.Count(Addr(&ns::thrower)), 4u);
}

}  // namespace
}  // namespace sled_test
