// What the agent and attach tests keep of a child process they ran: its
// exit status (or signal) and its output, read back from files.
#pragma once

#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

struct Outcome {
  int status = -1;  // exit code, or -signal
  std::string out, err;
};

inline std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A waitpid status as Outcome::status.
inline int decode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}
