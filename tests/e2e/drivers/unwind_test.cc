// unwind_test.cc — unwinders walk through a traced call. From inside a
// callback (fix_outer -> fix_add, fix_add traced), the stack must read:
// ... the trampoline, then fix_add's body (the address after its site's
// call), then the return address in fix_outer, as if fix_add had called
// the callback itself.
//   - The CFI unwinder (_Unwind_Backtrace: C++ exceptions, gdb, perf
//     --call-graph=dwarf) reads the trampoline's .cfi directives.
//   - On aarch64, the frame-pointer chain (perf's default unwinder) goes
//     through the trampoline's two frame records. x86-64's trampoline
//     builds none: at a function's entry the caller's return address is not
//     in a frame record on x86 anyway.
// Run under every strategy: their trampolines share one body but not code.
#include <gtest/gtest.h>
#include <unwind.h>

#include <vector>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

_Unwind_Reason_Code CollectPc(struct _Unwind_Context *context, void *arg) {
  auto *pcs = static_cast<std::vector<uintptr_t> *>(arg);
  pcs->push_back(_Unwind_GetIP(context));
  return pcs->size() < 64 ? _URC_NO_REASON : _URC_END_OF_STACK;
}

#if defined(__aarch64__)
// A return address without its pointer-authentication code (xpaclri; a NOP
// on CPUs without PAC): code built with -mbranch-protection=standard, sled
// included, saves signed return addresses in its frame records.
uintptr_t StripPac(uintptr_t lr) {
  register uintptr_t x30 asm("x30") = lr;
  asm("hint #7" : "+r"(x30));
  return x30;
}

// The return addresses of the frame-record chain from the caller's frame.
__attribute__((noinline)) std::vector<uintptr_t> FramePointerPcs() {
  std::vector<uintptr_t> pcs;
  auto *fp = static_cast<uintptr_t *>(__builtin_frame_address(0));
  while (fp && pcs.size() < 64) {
    pcs.push_back(StripPac(fp[1]));
    auto *next = reinterpret_cast<uintptr_t *>(fp[0]);
    if (next <= fp) break;  // frame records go up the stack
    fp = next;
  }
  return pcs;
}
#endif

// fix_add's body: where its site's call returns to.
uintptr_t FixAddBody() {
  return reinterpret_cast<uintptr_t>(PatchBytes(Addr(&fix_add))) + kPatchInsnSize;
}

// Checks that pcs holds fix_add's body followed by a return address right
// after a call to fix_add (in fix_outer).
void ExpectBodyThenCaller(const std::vector<uintptr_t> &pcs, const char *unwinder,
                          const char *strategy) {
  size_t i = 0;
  while (i < pcs.size() && pcs[i] != FixAddBody()) i++;
  ASSERT_LT(i + 1, pcs.size()) << unwinder << " under " << strategy
                               << ": fix_add's body is not on the stack";
  EXPECT_EQ(CallTargetBefore(pcs[i + 1]), Addr(&fix_add))
      << unwinder << " under " << strategy << ": the frame after fix_add's body is not fix_outer's";
  EXPECT_GT(pcs[i + 1], Addr(&fix_outer));
}

TEST(Unwind, UnwindersWalkThroughTheTrampoline) {
  for (const char *strategy : kStrategies) {
    ASSERT_EQ(sled_set_strategy(strategy), 0);
    Tracer tracer;
    std::vector<uintptr_t> cfi_pcs, fp_pcs;
    tracer.SetHook([&](Tracer &, const Hit &, sled_regs *) {
      _Unwind_Backtrace(CollectPc, &cfi_pcs);
#if defined(__aarch64__)
      fp_pcs = FramePointerPcs();
#endif
    });
    ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
    ASSERT_EQ(tracer.Register(), 0);
    EXPECT_EQ(fix_outer(4), 10);
    ASSERT_EQ(tracer.Total(), 1u);
    ExpectBodyThenCaller(cfi_pcs, "_Unwind_Backtrace", strategy);
#if defined(__aarch64__)
    ExpectBodyThenCaller(fp_pcs, "frame records", strategy);
#endif
  }
  ASSERT_EQ(sled_set_strategy("callops"), 0);
}

}  // namespace
}  // namespace sled_test
