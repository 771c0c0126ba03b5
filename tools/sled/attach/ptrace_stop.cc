// Stop-the-world under ptrace (ptrace_stop.h).
#include "attach/ptrace_stop.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include "attach/target_process.h"

namespace sled::attach {

std::string ptrace_refusal(pid_t pid, int err) {
  std::string who = "PID " + std::to_string(pid);
  if (err == EPERM) {
    std::string scope;
    std::ifstream in("/proc/sys/kernel/yama/ptrace_scope");
    if (in >> scope)
      scope = " (kernel.yama.ptrace_scope = " + scope +
              "; 0 lets a user trace its own processes, 1 only descendants, 2 needs "
              "CAP_SYS_PTRACE, 3 forbids it)";
    return "ptrace of " + who + " not permitted" + scope +
           ": run as the same user with ptrace allowed (sysctl kernel.yama.ptrace_scope=0), "
           "or with CAP_SYS_PTRACE";
  }
  return "ptrace of " + who + ": " + std::strerror(err);
}

StoppedProcess::Thread *StoppedProcess::find(pid_t tid) {
  for (Thread &t : threads_)
    if (t.tid == tid) return &t;
  return nullptr;
}

int StoppedProcess::seize(pid_t tid, std::string *error) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void *>(PTRACE_O_TRACECLONE)) != 0) {
    if (errno == ESRCH) return 0;  // the thread exited
    int err = errno;
    *error = ptrace_refusal(pid_, err);
    return -err;
  }
  threads_.push_back({tid, 0});
  unstopped_.push_back(tid);
  if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno == ESRCH) {
    // Exiting: its exit is reported to the wait loop, which forgets it.
  }
  return 0;
}

int StoppedProcess::wait_all_stopped(std::string *error) {
  auto forget = [&](pid_t tid) {
    std::erase_if(threads_, [&](const Thread &t) { return t.tid == tid; });
    std::erase(unstopped_, tid);
  };
  while (!unstopped_.empty()) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      *error = std::string("waiting for the threads to stop: ") + std::strerror(errno);
      return -errno;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      forget(tid);
      if (threads_.empty()) {
        *error = "PID " + std::to_string(pid_) + " exited while being stopped";
        return -ESRCH;
      }
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    if (!find(tid)) threads_.push_back({tid, 0});  // a new thread, seized by the kernel
    const int event = status >> 16;
    const int sig = WSTOPSIG(status);
    if (event == PTRACE_EVENT_STOP) {
      std::erase(unstopped_, tid);  // the interrupt (or a new thread's first) stop
      continue;
    }
    if (event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      pid_t c = static_cast<pid_t>(child);
      if (!find(c)) {
        threads_.push_back({c, 0});
        unstopped_.push_back(c);
      }
      // Back to user space, where its interrupt is still pending.
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    // A signal that arrived before the interrupt: delivered now.
    ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void *>(static_cast<long>(event ? 0 : sig)));
  }
  return 0;
}

int StoppedProcess::stop(pid_t pid, std::string *error) {
  pid_ = pid;
  for (;;) {
    bool stranger = false;
    for (pid_t tid : list_threads(pid)) {
      if (find(tid)) continue;
      stranger = true;
      if (int err = seize(tid, error)) {
        release_all();
        return err;
      }
    }
    if (!stranger) break;
    if (int err = wait_all_stopped(error)) {
      release_all();
      return err;
    }
  }
  if (threads_.empty()) {
    *error = "no process with PID " + std::to_string(pid);
    return -ESRCH;
  }
  return 0;
}

void StoppedProcess::release(pid_t tid) {
  Thread *t = find(tid);
  if (!t) return;
  ptrace(PTRACE_DETACH, tid, nullptr,
         reinterpret_cast<void *>(static_cast<long>(t->pending_signal)));
  std::erase_if(threads_, [&](const Thread &x) { return x.tid == tid; });
}

void StoppedProcess::release_all() {
  while (!threads_.empty()) {
    pid_t tid = threads_.back().tid;
    if (std::find(unstopped_.begin(), unstopped_.end(), tid) != unstopped_.end()) {
      // Not stopped yet: PTRACE_DETACH needs a stopped tracee. Wait for it.
      int status = 0;
      if (waitpid(tid, &status, __WALL) == tid && !WIFSTOPPED(status)) {
        std::erase(unstopped_, tid);
        threads_.pop_back();
        continue;
      }
      if ((status >> 16) == 0) threads_.back().pending_signal = WSTOPSIG(status);
      std::erase(unstopped_, tid);
    }
    release(tid);
  }
}

}  // namespace sled::attach
