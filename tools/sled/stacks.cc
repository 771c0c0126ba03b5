#include "stacks.h"

namespace sled::cli {

std::map<std::string, StackValue> folded_stacks(const TraceModel &m) {
  std::map<std::string, StackValue> out;
  for (const ThreadCalls &t : m.threads()) {
    std::vector<std::string> path;  // names of the open calls by depth
    for (const Call &c : t.calls) {
      path.resize(c.depth);
      path.push_back(m.name(c.ip));
      std::string key;
      for (const std::string &p : path) key += (key.empty() ? "" : ";") + p;
      StackValue &v = out[key];
      v.calls++;
      if (c.end_ns) v.self_ns += c.duration() > c.child_ns ? c.duration() - c.child_ns : 0;
    }
  }
  return out;
}

}  // namespace sled::cli
