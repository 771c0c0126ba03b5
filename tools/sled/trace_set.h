// The processes of a trace directory: DIR holds the started process's
// trace, and `sled record --follow` adds one DIR/pid-<PID>/ per child
// process (the agent's layout, docs/agent.md). Lists them; reads none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sled::cli {

struct ProcessTrace {
  std::string dir;
  uint32_t pid = 0;  // from the directory's name; 0 for DIR itself (read its header)
};

// DIR first (when it holds a trace, or when nothing else does: reading it
// then gives the error), then the pid-N/ subdirectories by pid. With
// `pid` != 0 only that process: "" or an error naming the pids there are.
std::string trace_processes(const std::string &dir, uint32_t pid, std::vector<ProcessTrace> *out);

// "cli_prog" from "/path/to/cli_prog".
std::string program_name(const std::string &path);

}  // namespace sled::cli
