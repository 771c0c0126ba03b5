// aarch64 side of graph ops: where graph.S leaves the return values, and
// whether the Guarded Control Stack (arm64's user shadow stack) forbids
// rewriting return addresses.
#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>

#include "arch/arch.h"
#include "arch/frame.h"

namespace sled::arch {

void graph_return_values(const sled_regs *frame, uintptr_t ints[2], unsigned char vec[16]) {
  ints[0] = frame->gpr[0];
  ints[1] = frame->gpr[1];
  std::memcpy(vec, frame->q[0], 16);
}

bool user_shadow_stack_active() {
  if (const char *fake = getenv("SLED_FAKE_SHADOW_STACK"); fake && *fake == '1') return true;
  // PR_GET_SHADOW_STACK_STATUS (Linux 6.13+): bit 0 = GCS enabled. Older
  // kernels reject the option: no GCS there.
  unsigned long status = 0;
  if (prctl(74, &status, 0, 0, 0) != 0) return false;
  return (status & 1) != 0;
}

}  // namespace sled::arch
