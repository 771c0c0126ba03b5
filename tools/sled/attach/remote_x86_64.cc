// x86_64 back end of `sled attach` (remote_arch.h).
//
// A call in a stopped thread: the thread's registers and extended state
// (x87/SSE/AVX: the called code clobbers vector registers that the
// interrupted code may hold live) are saved; the callee's frame goes below
// the interrupted code's red zone (128 bytes below rsp, which the System V
// ABI lets a leaf function use without moving rsp); rsp is 16-byte aligned
// before the return address is pushed, and the return address is 0, so the
// callee's `ret` faults with rip == 0: a SIGSEGV stop that says "returned".
// rflags' direction flag is cleared (the ABI's state at a call).
//
// System calls: a thread stopped while blocked in one (read, poll, futex,
// nanosleep, ...) holds orig_rax = the call's number and rax = -ERESTART*;
// the kernel restarts the call when the thread returns to user space with
// those values (rip moved back over the 2-byte `syscall`). For the
// injected call orig_rax is set to -1, so nothing is restarted into
// the callee; restoring the saved registers at the end brings orig_rax and
// rax back, and the kernel restarts the interrupted call as it would have.
// (A call restarted through restart_syscall, such as nanosleep, finds its
// state in the task's restart block, which the injected call leaves alone
// unless it is itself interrupted by a signal in such a call.)
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "attach/remote_arch.h"

namespace sled::attach {
namespace {

constexpr uint8_t kEndbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
constexpr uint8_t kNop5[kPatchSize] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
constexpr uintptr_t kRedZone = 128;
constexpr unsigned long kDirectionFlag = 0x400, kTrapFlag = 0x100;

bool all_0x90(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0x90) return false;
  return true;
}

bool get_regs(pid_t tid, user_regs_struct *r) {
  return ptrace(PTRACE_GETREGS, tid, nullptr, r) == 0;
}

std::string errno_text(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

const char *attach_unsupported() { return nullptr; }

bool classify_compiled_site(uintptr_t literal, const uint8_t *window, uintptr_t *patch) {
  // The layout of src/arch/x86_64/site.cc: 8 literal bytes, [endbr64], the
  // 5 patch bytes. sled refuses a site whose literal is not GCC's/clang's
  // NOPs or is not 8-aligned: such sites are left alone here too.
  if (literal % 8 != 0 || !all_0x90(window, 8)) return false;
  size_t at = 8 + (std::memcmp(window + 8, kEndbr64, sizeof kEndbr64) == 0 ? 4 : 0);
  if (!all_0x90(window + at, kPatchSize)) return false;
  *patch = literal + at;
  return true;
}

void normalized_patch(uint8_t out[kPatchSize]) { std::memcpy(out, kNop5, kPatchSize); }

bool thread_pc(pid_t tid, uintptr_t *pc) {
  user_regs_struct r;
  if (!get_regs(tid, &r)) return false;
  *pc = r.rip;
  return true;
}

bool thread_in_syscall(pid_t tid) {
  user_regs_struct r;
  return get_regs(tid, &r) && static_cast<long>(r.orig_rax) >= 0;
}

int single_step(pid_t tid, int *signal) {
  if (ptrace(PTRACE_SINGLESTEP, tid, nullptr, reinterpret_cast<void *>(static_cast<long>(*signal))))
    return -errno;
  *signal = 0;
  int status = 0;
  while (waitpid(tid, &status, __WALL) < 0)
    if (errno != EINTR) return -errno;
  if (!WIFSTOPPED(status)) return -ESRCH;
  if ((status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP) *signal = WSTOPSIG(status);
  return 0;
}

int RemoteCall::save(std::string *error) {
  regs_.resize(sizeof(user_regs_struct));
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, regs_.data())) {
    *error = errno_text("reading the registers");
    return -errno;
  }
  extended_.resize(64 * 1024);
  iovec iov{extended_.data(), extended_.size()};
  if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void *>(NT_X86_XSTATE), &iov) != 0) {
    *error = errno_text("reading the vector registers (NT_X86_XSTATE)");
    return -errno;
  }
  extended_.resize(iov.iov_len);
  return 0;
}

int RemoteCall::call(uintptr_t fn, const std::vector<uintptr_t> &args, std::string_view data,
                     uintptr_t *result, std::string *error) {
  if (args.size() > 6) {
    *error = "too many arguments for a remote call";
    return -EINVAL;
  }
  user_regs_struct r;
  std::memcpy(&r, regs_.data(), sizeof r);
  // [data, 16-aligned][pad] below the red zone; the return address below.
  uintptr_t data_at = (r.rsp - kRedZone - data.size() - 1) & ~uintptr_t{15};
  uintptr_t sp = data_at - 8;  // rsp % 16 == 8 at the callee's entry, as after a call
  saved_at_ = sp;
  saved_stack_.assign(8 + data.size() + 1, 0);
  if (pread(mem_fd_, saved_stack_.data(), saved_stack_.size(), static_cast<off_t>(sp)) !=
      static_cast<ssize_t>(saved_stack_.size())) {
    *error = errno_text("reading the thread's stack");
    return -EIO;
  }
  std::vector<uint8_t> frame(saved_stack_.size(), 0);  // return address 0, data, NUL
  std::memcpy(frame.data() + 8, data.data(), data.size());
  if (pwrite(mem_fd_, frame.data(), frame.size(), static_cast<off_t>(sp)) !=
      static_cast<ssize_t>(frame.size())) {
    *error = errno_text("writing the thread's stack");
    return -EIO;
  }
  auto put_back_stack = [&] {
    ssize_t n =
        pwrite(mem_fd_, saved_stack_.data(), saved_stack_.size(), static_cast<off_t>(saved_at_));
    (void)n;
  };
  unsigned long long *slots[6] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9};
  for (size_t i = 0; i < args.size(); i++) *slots[i] = args[i] == kDataArg ? data_at : args[i];
  r.rip = fn;
  r.rsp = sp;
  r.rax = 0;           // no vector arguments (variadic callees read it)
  r.orig_rax = ~0ULL;  // not in a system call: nothing to restart
  r.eflags &= ~(kDirectionFlag | kTrapFlag);
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &r) != 0 ||
      ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) {
    *error = errno_text("starting the call");
    put_back_stack();
    return -EIO;
  }
  auto started = std::chrono::steady_clock::now();
  bool warned = false;
  for (;;) {
    int status = 0;
    pid_t w = waitpid(tid_, &status, __WALL | WNOHANG);
    if (w < 0 && errno != EINTR) {
      *error = errno_text("waiting for the call");
      return -errno;
    }
    if (w == 0) {
      if (!warned && std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
        fprintf(stderr,
                "sled: attach: the call in thread %d has not returned after 10 s (a lock held "
                "by that thread?); still waiting\n",
                tid_);
        warned = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (w < 0) continue;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      *error = WIFSIGNALED(status) ? "the process was killed by signal " +
                                         std::to_string(WTERMSIG(status)) + " during the call"
                                   : "the process exited during the call";
      return -ESRCH;
    }
    if (!WIFSTOPPED(status)) continue;
    const int event = status >> 16, sig = WSTOPSIG(status);
    long forward = 0;
    if (event == 0 && sig == SIGSEGV) {
      user_regs_struct now;
      if (get_regs(tid_, &now) && now.rip == 0 && now.rsp == sp + 8) {
        *result = now.rax;
        put_back_stack();
        return 0;
      }
      forward = sig;  // a real fault of the callee: the program's to handle
    } else if (event == 0) {
      forward = sig;  // a signal for the program: its handler runs above our frame
    }
    ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void *>(forward));
  }
}

int RemoteCall::restore(std::string *error) {
  iovec iov{extended_.data(), extended_.size()};
  bool ok = ptrace(PTRACE_SETREGS, tid_, nullptr, regs_.data()) == 0;
  ok = ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void *>(NT_X86_XSTATE), &iov) == 0 && ok;
  if (!ok) {
    *error = errno_text("restoring the registers");
    return -EIO;
  }
  return 0;
}

}  // namespace sled::attach
