// Selects the register-save layout (struct sled_regs) of the build's arch.
#pragma once
#if defined(__x86_64__)
#include "arch/x86_64/frame.h"
#elif defined(__aarch64__)
#include "arch/aarch64/frame.h"
#endif
