// The control socket's private directory: $XDG_RUNTIME_DIR/sled, or else
// /tmp/sled-$UID, created 0700. Refused (with the reason, for one line on
// stderr) when it exists as a symlink, as something other than a
// directory, with another owner or with any permission for group or
// others: another user could then reach or replace the socket. Plain libc:
// shared by the agent and the `sled` command (which looks the socket up).
#pragma once

#include <sys/types.h>

#include <string>

namespace sled::control {

// The directory the agent of a process with effective uid `uid` and
// XDG_RUNTIME_DIR `xdg` (nullptr or "" when unset) uses.
std::string control_dir_path(const char *xdg, uid_t uid);

// Creates `dir` (0700) or checks the existing one. 0, or -1 and *why.
int make_private_dir(const std::string &dir, uid_t uid, std::string *why);

// "<dir>/<pid>.sock"
std::string socket_path(const std::string &dir, pid_t pid);

}  // namespace sled::control
