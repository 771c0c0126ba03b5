// control_server.h.
#include "agent/control_server.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/control_dir.h"
#include "agent/control_verbs.h"

namespace sled::agent {
namespace {

constexpr size_t kMaxLine = 64 * 1024;
constexpr int kIdleMs = 5000;

// The listening descriptor, and the process that made the socket file. Set
// before the thread starts (pthread_create orders it) and read by the
// destructor and the fork child handler of the same process: relaxed is
// enough, the atomics only keep the thread's reads of a value the child
// handler overwrote well-defined.
std::atomic<int> g_listen_fd{-1};
std::atomic<pid_t> g_socket_owner{0};
std::string *g_socket_path = nullptr;  // written once before the thread starts

void say(const std::string &line) {
  std::string s = line + "\n";
  ssize_t n = write(STDERR_FILENO, s.data(), s.size());
  (void)n;
}

bool send_all(int fd, const std::string &data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool peer_allowed(int fd, std::string *why) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *why = std::string("cannot read the peer's credentials: ") + strerror(errno);
    return false;
  }
  if (cred.uid == 0 || cred.uid == geteuid()) return true;
  *why = "permission denied: uid " + std::to_string(cred.uid) + " does not own process " +
         std::to_string(getpid());
  return false;
}

// Reads request lines and answers each until EOF, an error or idleness.
void serve_connection(int fd) {
  std::string why;
  if (!peer_allowed(fd, &why)) {
    send_all(fd, "error: " + why + "\n");
    return;
  }
  std::string pending;
  char buf[4096];
  for (;;) {
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string reply;
      try {
        reply = serve_request(line);
      } catch (...) {
        reply = "error: out of memory\n";
      }
      if (!send_all(fd, reply)) return;
    }
    if (pending.size() > kMaxLine) {
      send_all(fd, "error: request line longer than 64 KiB\n");
      return;
    }
    struct pollfd p {
      fd, POLLIN, 0
    };
    int r = poll(&p, 1, kIdleMs);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;  // idle, or an error
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    pending.append(buf, static_cast<size_t>(n));
  }
}

void *listener(void *) {
  pthread_setname_np(pthread_self(), "sled-ctl");
  for (;;) {
    int lfd = g_listen_fd.load(std::memory_order_relaxed);
    if (lfd < 0) return nullptr;
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        usleep(100 * 1000);  // the program's resources, not ours: wait
        continue;
      }
      return nullptr;  // shut down at exit (EINVAL)
    }
    try {
      serve_connection(fd);
    } catch (...) {
    }
    close(fd);
  }
}

void on_fork_child() {
  int fd = g_listen_fd.exchange(-1, std::memory_order_relaxed);
  if (fd >= 0) close(fd);
}

int make_socket(const std::string &path, std::string *why) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *why = path + " is too long for a socket address";
    return -1;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = std::string("socket: ") + strerror(errno);
    return -1;
  }
  unlink(path.c_str());  // a stale one of an earlier process with this pid
  if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      chmod(path.c_str(), 0600) != 0 || listen(fd, 8) != 0) {
    *why = "cannot listen on " + path + ": " + strerror(errno);
    close(fd);
    unlink(path.c_str());
    return -1;
  }
  return fd;
}

}  // namespace

void control_start() {
  const char *setting = getenv("SLED_CONTROL");
  if (setting && std::string(setting) == "0") return;
  if (setting && *setting && std::string(setting) != "1") {
    say(std::string("sled: SLED_CONTROL='") + setting + "': expected 0 or 1, control socket off");
    return;
  }
  std::string why;
  std::string dir = control::control_dir_path(getenv("XDG_RUNTIME_DIR"), geteuid());
  if (control::make_private_dir(dir, geteuid(), &why) != 0) {
    say("sled: control socket off: " + why);
    return;
  }
  std::string path = control::socket_path(dir, getpid());
  int fd = make_socket(path, &why);
  if (fd < 0) {
    say("sled: control socket off: " + why);
    return;
  }
  g_socket_path = new std::string(path);
  g_listen_fd.store(fd, std::memory_order_relaxed);
  g_socket_owner.store(getpid(), std::memory_order_relaxed);
  // The thread inherits this mask: every signal blocked, so the program's
  // handlers never run on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, listener, nullptr);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    say(std::string("sled: control socket off: cannot start its thread: ") + strerror(rc));
    g_listen_fd.store(-1, std::memory_order_relaxed);
    close(fd);
    unlink(path.c_str());
    return;
  }
  pthread_atfork(nullptr, nullptr, on_fork_child);
}

void control_stop() {
  if (g_socket_owner.load(std::memory_order_relaxed) != getpid() || !g_socket_path) return;
  unlink(g_socket_path->c_str());
  // Wakes accept (EINVAL); the descriptor stays open (the thread may be
  // about to use its number), the process is exiting.
  int fd = g_listen_fd.load(std::memory_order_relaxed);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace sled::agent
