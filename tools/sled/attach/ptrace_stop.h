// Stop-the-world for `sled attach`: every thread of a process seized with
// ptrace and stopped, threads created meanwhile included, then released.
//
// Protocol: PTRACE_SEIZE each thread listed in /proc/PID/task with
// PTRACE_O_TRACECLONE (a thread a seized thread creates is seized by the
// kernel and starts stopped), PTRACE_INTERRUPT it, and wait until every
// seized thread has reported a stop; then read the task list again and
// seize what a not-yet-seized thread created in between, until the list
// holds no stranger. A signal that reaches a thread before its interrupt
// stop is delivered at once (the thread is continued with it and stops at
// the interrupt that is still pending), so the program loses no signal.
//
// Owns the tracees: the destructor detaches every thread still held. Does
// not write the target's memory or registers (remote_arch.h, normalize.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sled::attach {

class StoppedProcess {
 public:
  StoppedProcess() = default;
  StoppedProcess(const StoppedProcess &) = delete;
  StoppedProcess &operator=(const StoppedProcess &) = delete;
  ~StoppedProcess() { release_all(); }

  // 0 when every thread is stopped; else a negative errno with *error set
  // (-EPERM: ptrace refused) and every thread seized so far released.
  int stop(pid_t pid, std::string *error);

  struct Thread {
    pid_t tid;
    int pending_signal;  // a signal to deliver when it is released (0: none)
  };
  std::vector<Thread> &threads() { return threads_; }
  pid_t pid() const { return pid_; }

  // Continues `tid` with its pending signal and stops following it.
  void release(pid_t tid);
  void release_all();

 private:
  int seize(pid_t tid, std::string *error);
  int wait_all_stopped(std::string *error);
  Thread *find(pid_t tid);

  pid_t pid_ = 0;
  std::vector<Thread> threads_;
  std::vector<pid_t> unstopped_;  // seized, their stop not yet seen
};

// The message for a PTRACE_SEIZE that failed with `err` on `pid`.
std::string ptrace_refusal(pid_t pid, int err);

}  // namespace sled::attach
