// agent_state.h.
#include "agent/agent_state.h"

#include <unistd.h>

#include <climits>

namespace sled::agent {

AgentState &agent_state() {
  // Never destroyed: the listener thread may still look at it while the
  // process exits.
  static AgentState *state = new AgentState;
  return *state;
}

RunningTracer running_tracer(const std::string &name, const std::string &options) {
  RunningTracer t{name, "", "", ""};
  size_t pos = 0;
  while (pos < options.size()) {
    size_t end = options.find(' ', pos);
    if (end == std::string::npos) end = options.size();
    std::string word = options.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (word.rfind("filter=", 0) == 0) {
      t.filter = word.substr(7);
    } else if (word.rfind("notrace=", 0) == 0) {
      t.notrace = word.substr(8);
    } else {
      t.options += (t.options.empty() ? "" : " ") + word;
    }
  }
  return t;
}

std::string absolute_dir(const std::string &dir) {
  if (!dir.empty() && dir[0] == '/') return dir;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return dir;
  return std::string(cwd) + "/" + dir;
}

}  // namespace sled::agent
