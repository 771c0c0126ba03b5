// The C++ half of the trampolines: the reader side of sled's grace periods
// and the recursion guard, around a call of the ops named by a literal.
#pragma once
#include <cstdint>

#include "sled/sled.h"

extern "C" void sled_dispatch(uintptr_t literal, uintptr_t parent_ip, sled_regs *regs);

namespace sled {
// TSan cannot see the literal (it is text, written in assembly): the writer
// calls publish_literals() after its literal stores and the dispatcher
// acquires the same counter after its literal load, giving TSan the
// happens-before edge the hardware gives through the literal. No-op
// otherwise.
void publish_literals();
void list_ops_func(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs);
}
