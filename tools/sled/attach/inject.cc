// The attach sequence (inject.h).
#include "attach/inject.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "attach/normalize.h"
#include "attach/ptrace_stop.h"
#include "attach/remote_arch.h"
#include "attach/target_elf.h"
#include "attach/target_process.h"

namespace sled::attach {
namespace {

std::string base_name(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string user_name(uid_t uid) {
  if (const passwd *pw = getpwuid(uid)) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Where to find dlopen/dlerror: the definition the program itself would
// call. The executable first (a statically linked sanitizer runtime
// interposes them there), then a shared sanitizer runtime, then glibc (which
// exports them from libc.so.6 since 2.34, from libdl.so.2 before).
int lookup_rank(const std::string &path, const std::string &exe) {
  std::string b = base_name(path);
  if (path == exe) return 0;
  for (const char *rt : {"libasan.so", "libtsan.so", "libubsan.so", "libhwasan.so"})
    if (b.rfind(rt, 0) == 0) return 1;
  if (b.rfind("libc.so.", 0) == 0) return 2;
  if (b.rfind("libdl.so.", 0) == 0) return 3;
  return -1;
}

struct Functions {
  uintptr_t dlopen = 0, dlerror = 0;
};

// The thread that runs dlopen: one blocked in a system call if any (it is
// at a call boundary, holding no lock of the C library in the common
// case), the main thread first.
pid_t pick_thread(StoppedProcess &stopped) {
  std::vector<pid_t> order;
  for (const auto &t : stopped.threads()) order.push_back(t.tid);
  std::stable_sort(order.begin(), order.end(), [&](pid_t a, pid_t b) {
    auto rank = [&](pid_t t) {
      return (thread_in_syscall(t) ? 0 : 2) + (t == stopped.pid() ? 0 : 1);
    };
    return rank(a) < rank(b);
  });
  return order.empty() ? 0 : order.front();
}

std::string read_c_string(int mem_fd, uintptr_t at) {
  std::string s;
  char buf[256];
  while (s.size() < 4096) {
    ssize_t n = pread(mem_fd, buf, sizeof buf, static_cast<off_t>(at + s.size()));
    if (n <= 0) break;
    const char *nul = static_cast<const char *>(memchr(buf, 0, static_cast<size_t>(n)));
    s.append(buf, nul ? static_cast<size_t>(nul - buf) : static_cast<size_t>(n));
    if (nul) break;
  }
  return s;
}

}  // namespace

int load_agent(pid_t pid, const std::string &agent_path, InjectResult *out, std::string *error) {
  const std::string who = "PID " + std::to_string(pid);
  if (const char *why = attach_unsupported()) {
    *error = why;
    return 1;
  }
  ProcessStatus st;
  if (pid <= 0 || !read_status(pid, &st, error)) {
    *error = "no process with PID " + std::to_string(pid);
    return 1;
  }
  const std::string named = who + " (" + st.name + ")";
  if (st.uid != geteuid() && geteuid() != 0) {
    *error = named + " belongs to " + user_name(st.uid) + ": attach to your own processes only";
    return 1;
  }
  if (st.state == 'Z' || st.state == 'X') {
    *error = named + " has exited (zombie)";
    return 1;
  }
  if (st.tracer != 0) {
    ProcessStatus tracer;
    std::string ignored;
    read_status(st.tracer, &tracer, &ignored);
    *error = named + " is already traced by PID " + std::to_string(st.tracer) +
             (tracer.name.empty() ? "" : " (" + tracer.name + ")") +
             " (a debugger or another tracer): detach it first";
    return 1;
  }
  if (st.state == 'T' || st.state == 't') {
    *error = named + " is stopped: continue it first (kill -CONT " + std::to_string(pid) + ")";
    return 1;
  }

  std::vector<MappedFile> files = list_mapped_files(pid, error);
  if (files.empty()) {
    if (error->empty()) *error = named + " has no mapped files";
    return 1;
  }
  for (const MappedFile &f : files)
    if (base_name(f.path) == kAgentFileName) {
      out->already_loaded = true;
      return 0;
    }
  char exe_buf[4096] = {};
  ssize_t exe_len =
      readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe_buf, sizeof exe_buf - 1);
  const std::string exe = exe_len > 0 ? std::string(exe_buf, static_cast<size_t>(exe_len)) : "";

  Fd mem;
  mem.fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  if (mem.fd < 0) {
    *error = errno == EACCES || errno == EPERM
                 ? ptrace_refusal(pid, EPERM)
                 : "cannot open the memory of " + named + ": " + std::strerror(errno);
    return 1;
  }
  std::vector<SiteTable> tables;
  Functions fns;
  int fns_rank = 99;
  for (const MappedFile &f : files) {
    if (std::none_of(f.ranges.begin(), f.ranges.end(), [](auto &r) { return r.exec; })) continue;
    int rank = lookup_rank(f.path, exe);
    ModuleFacts facts;
    std::string why;
    std::vector<std::string> wanted;
    if (rank >= 0 && rank < fns_rank) wanted = {"dlopen", "dlerror"};
    if (!read_module(pid, f, wanted, &facts, &why)) continue;  // not an ELF we can read
    for (auto [addr, size] : facts.site_tables) tables.push_back({f.path, addr, size});
    Functions found;
    for (auto &[name, addr] : facts.symbols)
      (name == "dlopen" ? found.dlopen : found.dlerror) = addr;
    if (found.dlopen && found.dlerror) {
      fns = found;
      fns_rank = rank;
    }
  }
  std::vector<uintptr_t> literals;
  if (!read_site_literals(mem.fd, tables, &literals, error)) return 1;
  out->sites = literals.size();
  if (literals.empty()) {
    *error = named +
             " is not instrumented: none of its modules has patchable function entries (build "
             "it with -fpatchable-function-entry=13,8 -falign-functions=16)";
    return 1;
  }
  if (!fns.dlopen) {
    *error = named + " has no dlopen to call (statically linked, or not glibc)";
    return 1;
  }

  StoppedProcess stopped;
  if (stopped.stop(pid, error) != 0) return 1;
  NormalizeReport norm;
  if (normalize_sites(stopped, mem.fd, literals, &norm, error) != 0) return 1;
  out->normalized = norm.rewritten;
  out->notes = norm.left;

  // The other threads run again while dlopen runs: one of them may hold a
  // lock dlopen needs (malloc's, the loader's). Their sites are already in
  // their final form.
  pid_t tid = pick_thread(stopped);
  out->thread = tid;
  for (size_t i = stopped.threads().size(); i-- > 0;)
    if (stopped.threads()[i].tid != tid) stopped.release(stopped.threads()[i].tid);
  // Threads the agent starts are not ours to follow.
  ptrace(PTRACE_SETOPTIONS, tid, nullptr, nullptr);

  RemoteCall call(tid, mem.fd);
  if (call.save(error) != 0) return 1;
  uintptr_t handle = 0;
  int err = call.call(fns.dlopen, {RemoteCall::kDataArg, RTLD_NOW}, agent_path, &handle, error);
  std::string dl_error;
  if (err == 0 && handle == 0) {
    uintptr_t msg = 0;
    if (call.call(fns.dlerror, {}, {}, &msg, error) == 0 && msg)
      dl_error = read_c_string(mem.fd, msg);
  }
  if (err == -ESRCH) return 1;  // the process is gone: nothing to restore
  std::string restore_error;
  if (call.restore(&restore_error) != 0) {
    *error = (err ? *error + "; " : "") + restore_error;
    return 1;
  }
  stopped.release(tid);
  if (err) return 1;
  if (!handle) {
    *error = "dlopen(" + agent_path + ") failed in " + named + ": " +
             (dl_error.empty() ? "no reason given" : dl_error);
    return 1;
  }
  return 0;
}

}  // namespace sled::attach
