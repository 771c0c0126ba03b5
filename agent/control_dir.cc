// control_dir.h: the private directory's path and checks.
#include "agent/control_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sled::control {

std::string control_dir_path(const char *xdg, uid_t uid) {
  // A relative XDG_RUNTIME_DIR is invalid by the XDG spec: ignored.
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/sled";
  return "/tmp/sled-" + std::to_string(uid);
}

int make_private_dir(const std::string &dir, uid_t uid, std::string *why) {
  if (mkdir(dir.c_str(), 0700) == 0) return 0;
  if (errno != EEXIST) {
    *why = "cannot create " + dir + ": " + strerror(errno);
    return -1;
  }
  // lstat: a symlink is refused, never followed.
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    *why = "cannot inspect " + dir + ": " + strerror(errno);
    return -1;
  }
  if (S_ISLNK(st.st_mode)) {
    *why = dir + " is a symbolic link";
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    *why = dir + " is not a directory";
    return -1;
  }
  if (st.st_uid != uid) {
    *why = dir + " belongs to uid " + std::to_string(st.st_uid) + ", not " + std::to_string(uid);
    return -1;
  }
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *why = dir + " has mode " + mode + ", 0700 expected";
    return -1;
  }
  return 0;
}

std::string socket_path(const std::string &dir, pid_t pid) {
  return dir + "/" + std::to_string(pid) + ".sock";
}

}  // namespace sled::control
