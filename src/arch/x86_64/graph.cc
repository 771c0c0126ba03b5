// x86_64 side of graph ops: where graph.S leaves the return values, and
// whether CET user shadow stacks forbid rewriting return addresses.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "arch/arch.h"
#include "arch/frame.h"

namespace sled::arch {

void graph_return_values(const sled_regs *frame, uintptr_t ints[2], unsigned char vec[16]) {
  ints[0] = frame->gpr[6];  // rax slot
  ints[1] = frame->gpr[2];  // rdx slot
  std::memcpy(vec, frame->xmm[0], 16);
}

bool user_shadow_stack_active() {
  // For tests of the refusal path on machines without CET.
  if (const char *fake = getenv("SLED_FAKE_SHADOW_STACK"); fake && *fake == '1') return true;
  // ARCH_SHSTK_STATUS (Linux 6.6+): bit 0 = shadow stack enabled. Older
  // kernels reject the code (EINVAL): no user shadow stacks there.
  unsigned long features = 0;
  if (syscall(SYS_arch_prctl, 0x5005, &features) != 0) return false;
  return (features & 1) != 0;
}

}  // namespace sled::arch
