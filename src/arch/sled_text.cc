// sled's own code, the same on every arch: the assembly entry points (each
// back end's trampoline.S defines them under these names). Decides nothing
// about sites.
#include "arch/arch.h"

extern "C" void sled_callops_trampoline();
extern "C" void sled_list_trampoline();
extern "C" void sled_dyntramp_body();
extern "C" void sled_direct_list_trampoline();

namespace sled::arch {

uintptr_t callops_trampoline() { return reinterpret_cast<uintptr_t>(&sled_callops_trampoline); }
uintptr_t list_trampoline() { return reinterpret_cast<uintptr_t>(&sled_list_trampoline); }
uintptr_t dyntramp_body() { return reinterpret_cast<uintptr_t>(&sled_dyntramp_body); }
uintptr_t direct_list_trampoline() {
  return reinterpret_cast<uintptr_t>(&sled_direct_list_trampoline);
}

}  // namespace sled::arch
