// What `sled attach` reads about a running process from /proc, before and
// while it holds it under ptrace: identity and state (status), its threads
// (task/) and the ELF files it has mapped (maps). Reads only; never writes
// the target and never stops it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sled::attach {

struct ProcessStatus {
  std::string name;  // Name: (comm)
  char state = '?';  // State: R, S, D, T, t, Z, ...
  uid_t uid = 0;     // real uid
  pid_t tracer = 0;  // TracerPid: 0 when not traced
};
// false with *error when /proc/PID/status cannot be read (no such process).
bool read_status(pid_t pid, ProcessStatus *out, std::string *error);

// The thread ids in /proc/PID/task (empty when the process is gone).
std::vector<pid_t> list_threads(pid_t pid);

// One ELF file mapped into the target: every mapping of the same file
// (device + inode) taken together.
struct MappedFile {
  std::string path;  // as /proc/PID/maps prints it
  uint64_t dev = 0, inode = 0;
  struct Range {
    uintptr_t start, end, offset;
    bool exec;
  };
  std::vector<Range> ranges;  // in address order
};
std::vector<MappedFile> list_mapped_files(pid_t pid, std::string *error);

// The file as the target sees it (its mount namespace): /proc/PID/root/...
std::string target_view(pid_t pid, const std::string &path);

}  // namespace sled::attach
