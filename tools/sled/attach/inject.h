// Loading the preload agent into a running process (`sled attach`):
// checks, stop-the-world, GCC site normalisation, then dlopen(agent,
// RTLD_NOW) called in one stopped thread while the others run again, and
// every thread released with its registers and memory as they were (except
// the normalised sites and what the agent itself does once loaded).
//
// Refuses, with one line saying why, before touching the process: no such
// PID, a zombie or stopped process, another user's process, a process
// another tracer holds (TracerPid), ptrace not permitted, no patchable
// sites in any of its modules, no dlopen in it (static binary), an
// architecture without a back end (remote_arch.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sled::attach {

struct InjectResult {
  bool already_loaded = false;     // the agent was there: nothing was done
  size_t sites = 0;                // patchable sites found in its modules
  size_t normalized = 0;           // GCC slots rewritten into one NOP
  std::vector<std::string> notes;  // slots left as they were, and why
  pid_t thread = 0;                // the thread that ran dlopen
};

// 0, or a non-zero exit status for the command with *error set.
int load_agent(pid_t pid, const std::string &agent_path, InjectResult *out, std::string *error);

// The agent's file name, how its mapping is recognised in /proc/PID/maps.
inline constexpr const char *kAgentFileName = "libsled-preload.so";

}  // namespace sled::attach
