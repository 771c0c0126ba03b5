// The client side of the agent's control socket (docs/control.md): find a
// process's socket, send one request, read the reply. Used by `sled ctl`,
// `sled top` and `sled sites PID`. Plain libc and the standard library;
// prints nothing: errors come back as one sentence for the user.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sled::cli {

struct CtlReply {
  std::vector<std::string> lines;  // the body, without the final line
  bool ok = false;
  std::string error;  // the agent's message when !ok ("error: " removed)
};

// The control socket of process `pid`, checked: the process exists, it
// belongs to the caller's user (or the caller is root), and a socket file
// is there. false and *error ("process 123 does not exist", "process 123
// belongs to another user (uid 1000)", "process 123 has no sled agent
// (...)") otherwise.
bool ctl_find_socket(pid_t pid, std::string *path, std::string *error);

// `pid` from a command-line word: a positive decimal number. false and
// *error otherwise.
bool ctl_parse_pid(const std::string &word, pid_t *pid, std::string *error);

// Connects to `socket_path`, sends `request` (one line, no '\n'), reads
// the reply. false and *error when the exchange itself failed (no agent
// listening, connection refused or cut); true otherwise, with reply->ok
// saying whether the agent accepted the request. `pid` names the process
// in messages (0: the path is used).
bool ctl_request(const std::string &socket_path, pid_t pid, const std::string &request,
                 CtlReply *reply, std::string *error);

// Both: find PID's socket, then send.
bool ctl_call(pid_t pid, const std::string &request, CtlReply *reply, std::string *error);

}  // namespace sled::cli
