// read_agent_trace (agent_trace.h) over the reader library.
#include "agent_trace.h"

#include <sstream>

#include "reader.h"

namespace {

std::string name_at(const sled::reader::Trace &t, uintptr_t ip) {
  const sled::reader::Symbol *s = t.symbol_at(ip);
  return s ? s->name : "?";
}

// The "profile" section: "# ..." lines, then
// "ip calls total_ns self_ns max_ns module name" per function.
bool parse_profile(const std::string &text, std::map<std::string, uint64_t> *calls,
                   std::string *error) {
  std::istringstream in(text);
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.rfind("# sled profile 1:", 0) == 0) header = true;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string ip, module, name;
    uint64_t n = 0, total = 0, self = 0, max = 0;
    if (!(f >> ip >> n >> total >> self >> max >> module >> name) || self > total || max > total) {
      *error = "bad profile line: " + line;
      return false;
    }
    (*calls)[name] += n;
  }
  if (!header) *error = "profile section without its header line";
  return header;
}

}  // namespace

bool read_agent_trace(const std::string &dir, bool strict, AgentTrace *out) {
  auto trace = sled::reader::Trace::open(dir, {.strict = strict});
  if (!trace.ok()) {
    out->error = trace.error;
    return false;
  }
  out->threads.clear();
  out->lost = trace->total_lost();
  for (uint32_t tid : trace->thread_ids()) {
    auto events = trace->events(tid);
    if (!events.ok()) {
      out->error = events.error;
      return false;
    }
    std::vector<std::string> lines;
    for (const sled::reader::Event &e : *events) {
      switch (e.kind) {
        case sled::reader::EventKind::entry:
          lines.push_back("> " + name_at(*trace, e.ip));
          break;
        case sled::reader::EventKind::exit:
          lines.push_back("< " + name_at(*trace, e.ip) + (e.unwound ? " unwound" : ""));
          break;
        case sled::reader::EventKind::args: {
          std::string l = "args";
          for (uint64_t v : e.values) l += " " + std::to_string(static_cast<int64_t>(v));
          lines.push_back(l);
          break;
        }
        case sled::reader::EventKind::retval:
          lines.push_back("= " + std::to_string(static_cast<int64_t>(e.values.at(0))));
          break;
        case sled::reader::EventKind::stack:
          lines.push_back("stack");
          break;
        case sled::reader::EventKind::marker:
          lines.push_back("marker " + std::to_string(e.marker) + " " + name_at(*trace, e.ip) + " " +
                          std::to_string(e.marker_arg));
          break;
      }
    }
    if (!lines.empty()) out->threads.push_back(std::move(lines));
  }
  out->profile_calls.clear();
  if (const std::string *p = trace->section("profile"))
    if (!parse_profile(*p, &out->profile_calls, &out->error)) return false;
  return true;
}
