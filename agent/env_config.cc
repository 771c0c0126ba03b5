// Reading the SLED_* variables (env_config.h). Checks what the agent can
// check without the tracers (names, sizes, modes, option keys); what only a
// tracer can judge (a pattern that matches nothing, a malformed trigger) is
// refused later by trace.h's calls, and reported the same way.
#include "agent/env_config.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "tracers/options.h"

namespace sled::agent {
namespace {

constexpr const char *kTracers[] = {"function", "function_graph", "profile"};

// SLED_OPTIONS keys and who takes them. Mirrors trace.h's list: the agent
// sees libsled-trace's exported C API only, not its tracer table.
struct OptionKey {
  const char *key;
  const char *target;  // a tracer's name, or "open" for sled_trace_open
};
constexpr OptionKey kOptionKeys[] = {
    {"args", "function_graph"},
    {"retval", "function_graph"},
    {"depth", "function_graph"},
    {"capture", "function_graph"},
    {"clock", "open"},
};

std::vector<std::string> split(const std::string &s, const char *seps) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find_first_of(seps, pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool has_space(const std::string &s) {
  for (char c : s)
    if (isspace(static_cast<unsigned char>(c))) return true;
  return false;
}

// Patterns as the user writes them (spaces or commas) to an option value
// (commas: options are separated by spaces).
std::string as_option_list(const std::string &patterns) {
  std::string out;
  for (const std::string &p : split(patterns, " ,\t")) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

bool read_config(const Lookup &env, Plan *plan, ConfigError *error) {
  auto get = [&](const char *name) -> std::string {
    const char *v = env(name);
    return v ? v : "";
  };
  auto fail = [&](const char *var, const std::string &reason) {
    *error = ConfigError{var, get(var), reason};
    return false;
  };
  Plan p;
  std::string verbose = get("SLED_VERBOSE");
  if (!verbose.empty() && verbose != "0" && verbose != "1")
    return fail("SLED_VERBOSE", "expected 0 or 1");
  p.verbose = verbose == "1";

  // Tracers, and the options each gets.
  std::string filter = as_option_list(get("SLED_FILTER"));
  std::string notrace = as_option_list(get("SLED_NOTRACE"));
  std::set<std::string> seen;
  for (const std::string &raw : split(get("SLED_TRACER"), ",")) {
    std::string name = trim(raw);
    if (name.empty()) continue;
    bool known = false;
    for (const char *t : kTracers) known |= name == t;
    if (!known)
      return fail("SLED_TRACER",
                  "unknown tracer '" + name + "' (function, function_graph, profile)");
    if (!seen.insert(name).second) return fail("SLED_TRACER", "'" + name + "' given twice");
    TracerPlan t{name, ""};
    if (!filter.empty()) t.options += "filter=" + filter;
    if (!notrace.empty())
      t.options += std::string(t.options.empty() ? "" : " ") + "notrace=" + notrace;
    p.tracers.push_back(t);
  }
  if (!p.tracers.empty()) p.session = true;

  // The session's options.
  p.dir = get("SLED_OUTPUT");
  if (p.dir.empty()) p.dir = "sled.trace";
  if (has_space(p.dir)) return fail("SLED_OUTPUT", "a directory name without spaces is expected");
  p.open_options = "dir=" + p.dir;
  if (std::string size = get("SLED_BUFFER_SIZE"); !size.empty()) {
    size_t bytes = 0;
    std::string why;
    if (sled::tracers::parse_size("size", size, &bytes, &why) < 0)
      return fail("SLED_BUFFER_SIZE", "expected bytes with an optional K, M or G suffix");
    p.open_options += " buffer=" + size;
  }
  if (std::string mode = get("SLED_BUFFER_MODE"); !mode.empty()) {
    if (mode != "drop" && mode != "overwrite")
      return fail("SLED_BUFFER_MODE", "expected drop or overwrite");
    p.open_options += " mode=" + mode;
  }

  // Extra options, each to whoever takes its key.
  for (const std::string &word : split(get("SLED_OPTIONS"), " \t")) {
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == word.size())
      return fail("SLED_OPTIONS", "'" + word + "' is not key=value");
    std::string key = word.substr(0, eq);
    const OptionKey *k = nullptr;
    for (const OptionKey &o : kOptionKeys)
      if (key == o.key) k = &o;
    if (!k)
      return fail("SLED_OPTIONS", "unknown option '" + key + "' (args, retval, depth, capture, clock)");
    if (std::string(k->target) == "open") {
      p.open_options += " " + word;
      continue;
    }
    bool taken = false;
    for (TracerPlan &t : p.tracers) {
      if (t.name != k->target) continue;
      t.options += (t.options.empty() ? "" : " ") + word;
      taken = true;
    }
    if (!taken)
      return fail("SLED_OPTIONS", "'" + key + "' is an option of " + k->target +
                                      ", which SLED_TRACER does not name");
  }

  for (const std::string &spec : split(get("SLED_TRIGGER"), ";"))
    if (!trim(spec).empty()) p.triggers.push_back(trim(spec));
  if (!p.triggers.empty() && !p.session)
    return fail("SLED_TRIGGER", "triggers need a tracer (SLED_TRACER)");
  for (const std::string &spec : split(get("SLED_INJECT"), ";"))
    if (!trim(spec).empty()) p.injects.push_back(trim(spec));

  // SLED_STRATEGY is libsled's own (read at its start-up, with its own warning).
  *plan = std::move(p);
  return true;
}

std::string error_line(const ConfigError &e) {
  return "sled: " + e.variable + "='" + e.value + "': " + e.reason + ", tracing disabled";
}

}  // namespace sled::agent
