// render() and function_containing() of trace_events.h.
#include <dlfcn.h>

#include "trace_events.h"

namespace trc_test {

std::string function_containing(uintptr_t addr) {
  Dl_info info{};
  if (addr == 0) return "-";
  // The executable is linked with -rdynamic (ENABLE_EXPORTS): its functions
  // are in the dynamic symbol table that dladdr reads.
  if (!dladdr(reinterpret_cast<void *>(addr), &info) || !info.dli_sname) return "?";
  return info.dli_sname;
}

std::vector<std::string> render(const std::vector<Event> &events) {
  static const char *const markers[] = {"marker0",  "traceon",      "traceoff",
                                        "snapshot", "inject_delay", "inject_return"};
  std::vector<std::string> out;
  for (const Event &e : events) {
    std::string line;
    switch (e.kind) {
      case Kind::entry:
        line = "> " + e.name;
        break;
      case Kind::exit:
        line = "< " + e.name + (e.unwound ? " unwound" : "");
        break;
      case Kind::args:
        line = "args";
        for (uint64_t v : e.values) line += " " + std::to_string(static_cast<int64_t>(v));
        break;
      case Kind::retval:
        line = "= " + std::to_string(static_cast<int64_t>(e.values.empty() ? 0 : e.values[0]));
        break;
      case Kind::stack:
        line = "stack";
        for (const std::string &n : e.names) line += " " + n;
        break;
      case Kind::marker:
        line = std::string(e.marker < 6 ? markers[e.marker] : "marker?") + " @" + e.name;
        break;
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace trc_test
