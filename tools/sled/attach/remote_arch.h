// The architecture half of `sled attach`: a thread's registers, a function
// call run in a stopped thread of another process, single steps, and the
// shape of a site as the compiler left it. Generic code (inject.cc,
// normalize.cc) decides what to call and which sites to rewrite; this only
// encodes. One implementation per architecture (remote_x86_64.cc), or
// remote_unsupported.cc, which refuses.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sled::attach {

// Null when attach works on this architecture; else why it does not.
const char *attach_unsupported();

// The bytes from a site's literal (the address __patchable_function_entries
// records) that classify_compiled_site reads.
constexpr size_t kSiteWindow = 8 + 4 + 5;
constexpr size_t kPatchSize = 5;
// A site whose entry NOPs must be rewritten once (x86 GCC: five 0x90s) and
// that sled would otherwise accept: true with the rewritten range's start.
bool classify_compiled_site(uintptr_t literal, const uint8_t *window, uintptr_t *patch);
// What such a range becomes: the one-instruction NOP libsled toggles.
void normalized_patch(uint8_t out[kPatchSize]);

// The program counter of a stopped tracee; false when it cannot be read.
bool thread_pc(pid_t tid, uintptr_t *pc);
// Whether the tracee stopped inside a system call (the call is restarted
// when it resumes with these registers).
bool thread_in_syscall(pid_t tid);
// One instruction of a stopped tracee, delivering *signal first if set. On
// return *signal holds a signal that arrived instead of the step's trap (0
// when none). 0, or a negative errno (the thread is gone).
int single_step(pid_t tid, int *signal);

// A function call in a stopped tracee of ours, as if the thread had made
// it: its registers (general and extended state) are saved first and put
// back by restore(), and the stack bytes the call's frame overwrote too.
class RemoteCall {
 public:
  RemoteCall(pid_t tid, int mem_fd) : tid_(tid), mem_fd_(mem_fd) {}
  int save(std::string *error);
  // Calls fn(args...) (integers/pointers, at most 6). An argument equal to
  // kDataArg becomes the address of a copy of `data` placed on the thread's
  // stack for the call. Signals the thread receives meanwhile are delivered
  // to the program. 0 with *result, or a negative errno with *error.
  static constexpr uintptr_t kDataArg = ~uintptr_t{0} - 0x5157;
  int call(uintptr_t fn, const std::vector<uintptr_t> &args, std::string_view data,
           uintptr_t *result, std::string *error);
  int restore(std::string *error);

 private:
  pid_t tid_;
  int mem_fd_;
  std::vector<uint8_t> regs_, extended_;
  uintptr_t saved_at_ = 0;
  std::vector<uint8_t> saved_stack_;
};

}  // namespace sled::attach
