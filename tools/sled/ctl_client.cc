// ctl_client.h. Where the socket is: the agent chose it from its own
// XDG_RUNTIME_DIR and effective uid (agent/control_dir.h), so the client
// tries the target's XDG_RUNTIME_DIR (its /proc/PID/environ, readable by
// the same user and root), then its own when both run as the same user,
// then /tmp/sled-<uid of the target>.
#include "ctl_client.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/control_dir.h"

namespace sled::cli {
namespace {

constexpr int kReplyTimeoutMs = 30000;  // `sites` of a large program, a grace period

std::string process(pid_t pid) { return "process " + std::to_string(pid); }

// The effective uid of pid, from /proc/PID/status; -1 when unreadable.
long process_euid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    long real = -1, effective = -1;
    fields >> real >> effective;
    return effective;
  }
  return -1;
}

// XDG_RUNTIME_DIR of pid's initial environment, "" when absent or unreadable.
std::string process_xdg(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string var;
  while (std::getline(in, var, '\0'))
    if (var.rfind("XDG_RUNTIME_DIR=", 0) == 0) return var.substr(16);
  return "";
}

bool exists(const std::string &path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

bool ctl_parse_pid(const std::string &word, pid_t *pid, std::string *error) {
  char *end = nullptr;
  errno = 0;
  long v = word.empty() ? 0 : strtol(word.c_str(), &end, 10);
  if (word.empty() || *end || errno || v <= 0 || v > (1L << 22)) {
    *error = "'" + word + "' is not a process id";
    return false;
  }
  *pid = static_cast<pid_t>(v);
  return true;
}

bool ctl_find_socket(pid_t pid, std::string *path, std::string *error) {
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    *error = process(pid) + " does not exist";
    return false;
  }
  long uid = process_euid(pid);
  if (uid < 0) {
    *error = process(pid) + " does not exist";
    return false;
  }
  uid_t me = geteuid();
  if (me != 0 && static_cast<uid_t>(uid) != me) {
    *error = process(pid) + " belongs to another user (uid " + std::to_string(uid) + ")";
    return false;
  }
  std::vector<std::string> dirs;
  std::string xdg = process_xdg(pid);
  if (!xdg.empty()) dirs.push_back(control::control_dir_path(xdg.c_str(), uid));
  if (static_cast<uid_t>(uid) == me)
    dirs.push_back(control::control_dir_path(getenv("XDG_RUNTIME_DIR"), uid));
  dirs.push_back(control::control_dir_path(nullptr, uid));
  for (const std::string &dir : dirs) {
    std::string candidate = control::socket_path(dir, pid);
    if (exists(candidate)) {
      *path = candidate;
      return true;
    }
  }
  *error = process(pid) + " has no sled agent (no control socket " +
           control::socket_path(dirs.front(), pid) +
           "; run it under `sled record`, load the agent with `sled attach`, and leave "
           "SLED_CONTROL unset)";
  return false;
}

bool ctl_request(const std::string &socket_path, pid_t pid, const std::string &request,
                 CtlReply *reply, std::string *error) {
  std::string who = pid ? process(pid) : socket_path;
  *reply = CtlReply{};
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    *error = socket_path + " is too long for a socket address";
    return false;
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == ECONNREFUSED || err == ENOENT)
      *error = who + " has no sled agent listening (stale socket " + socket_path + ")";
    else if (err == EACCES || err == EPERM)
      *error = "permission denied on " + socket_path + " (" + who + " belongs to another user)";
    else
      *error = "cannot connect to " + socket_path + ": " + strerror(err);
    return false;
  }
  std::string line = request + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the agent may have refused us: read its line
    off += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);  // one request per connection
  std::string data;
  char buf[65536];
  for (;;) {
    struct pollfd p {
      fd, POLLIN, 0
    };
    int r = poll(&p, 1, kReplyTimeoutMs);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      *error = who + " did not answer within 30 s";
      return false;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ECONNRESET) {
      *error = "reading from " + socket_path + ": " + strerror(errno);
      return false;
    }
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;  // an unterminated tail: cut off
    std::string l = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (l == "ok") {
      reply->ok = true;
      return true;
    }
    if (l.rfind("error: ", 0) == 0) {
      reply->error = l.substr(7);
      return true;
    }
    reply->lines.push_back(l);
  }
  *error = who + " closed the connection before the end of its reply (did it exit?)";
  return false;
}

bool ctl_call(pid_t pid, const std::string &request, CtlReply *reply, std::string *error) {
  std::string path;
  return ctl_find_socket(pid, &path, error) && ctl_request(path, pid, request, reply, error);
}

}  // namespace sled::cli
