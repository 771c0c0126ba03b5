// control_verbs.h: list, start, stop, filter, notrace, strategy, stats,
// profile, sites. Each verb checks its words before it changes anything;
// a sled call that fails leaves its own state unchanged (sled.h, trace.h),
// and a verb that made earlier changes undoes them (filter on several
// tracers, start after it opened the session).
#include "agent/control_verbs.h"

#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "agent/agent_state.h"
#include "sled/trace.h"

namespace sled::agent {
namespace {

struct Reply {
  std::string body;
  void line(const std::string &s) { body += s + "\n"; }
  std::string ok() { return body + "ok\n"; }
};

std::string error(const std::string &message) { return "error: " + message + "\n"; }

std::string trace_error(int rc) {
  const char *detail = sled_trace_last_error();
  return detail && *detail ? detail : sled_strerror(rc);
}

constexpr const char *kTracers[] = {"function", "function_graph", "profile"};
constexpr const char *kVerbs =
    "list, start, stop, filter, notrace, strategy, stats, profile, sites";

bool known_tracer(const std::string &name) {
  for (const char *t : kTracers)
    if (name == t) return true;
  return false;
}

RunningTracer *find_running(AgentState &s, const std::string &name) {
  for (RunningTracer &t : s.tracers)
    if (t.name == name) return &t;
  return nullptr;
}

std::string or_dash(const std::string &s) { return s.empty() ? "-" : s; }

std::string verb_list(AgentState &s, const std::vector<std::string> &w) {
  if (w.size() > 1) return error("list takes no arguments");
  Reply r;
  r.line("pid " + std::to_string(getpid()));
  r.line(std::string("strategy ") + sled_get_strategy());
  r.line("output " + (s.session_open ? s.dir : std::string("-")));
  for (const RunningTracer &t : s.tracers)
    r.line("tracer " + t.name + " filter=" + or_dash(t.filter) + " notrace=" + or_dash(t.notrace) +
           " options=" + or_dash(t.options));
  return r.ok();
}

// Closes the session when no tracer of the agent runs any more.
void close_if_idle(AgentState &s, Reply *r) {
  if (!s.tracers.empty() || !s.session_open) return;
  sled_trace_stats st{};
  sled_trace_get_stats(&st);
  int rc = sled_trace_close();
  s.session_open = false;
  if (rc < 0 && rc != -ENOTCONN) {
    r->line("closed " + s.dir + " with an error: " + trace_error(rc));
    return;
  }
  r->line("closed " + s.dir + " events " + std::to_string(st.events) + " lost " +
          std::to_string(st.lost));
}

std::string verb_start(AgentState &s, const std::vector<std::string> &w) {
  if (w.size() < 2) return error("start: a tracer is expected (function, function_graph, profile)");
  const std::string &name = w[1];
  if (!known_tracer(name))
    return error("start: unknown tracer '" + name + "' (function, function_graph, profile)");
  if (find_running(s, name)) return error("start: " + name + " is already running");
  std::string open_options, tracer_options, dir;
  for (size_t i = 2; i < w.size(); ++i) {
    size_t eq = w[i].find('=');
    if (eq == std::string::npos || eq == 0) return error("start: '" + w[i] + "' is not key=value");
    std::string key = w[i].substr(0, eq);
    if (key == "dir") {
      dir = w[i].substr(eq + 1);
      if (dir.empty()) return error("start: dir= is empty");
    } else if (key == "buffer" || key == "mode" || key == "clock") {
      open_options += " " + w[i];
    } else {
      tracer_options += (tracer_options.empty() ? "" : " ") + w[i];
    }
  }
  bool opened = false;
  if (!s.session_open) {
    dir = absolute_dir(dir.empty() ? "sled.trace" : dir);
    if (int rc = sled_trace_open(("dir=" + dir + open_options).c_str()); rc < 0)
      return error("start: cannot open the trace: " + trace_error(rc));
    s.session_open = true;
    s.owner = getpid();
    s.dir = dir;
    opened = true;
  } else if (!dir.empty() || !open_options.empty()) {
    return error("start: a session is open in " + s.dir +
                 " (dir, buffer, mode and clock apply when the first tracer starts)");
  }
  if (int rc = sled_tracer_start(name.c_str(), tracer_options.c_str()); rc < 0) {
    std::string why = trace_error(rc);
    if (opened) {
      sled_trace_close();
      s.session_open = false;
    }
    return error("start: " + why);
  }
  s.tracers.push_back(running_tracer(name, tracer_options));
  Reply r;
  r.line("started " + name + " into " + s.dir);
  return r.ok();
}

std::string verb_stop(AgentState &s, const std::vector<std::string> &w) {
  if (w.size() > 2) return error("stop takes at most one tracer");
  std::vector<std::string> names;
  if (w.size() == 2) {
    if (!find_running(s, w[1])) return error("stop: " + w[1] + " is not running");
    names.push_back(w[1]);
  } else {
    if (s.tracers.empty()) return error("stop: no tracer is running");
    for (const RunningTracer &t : s.tracers) names.push_back(t.name);
  }
  Reply r;
  for (const std::string &name : names) {
    if (int rc = sled_tracer_stop(name.c_str()); rc < 0 && rc != -ENOENT)
      return error("stop: " + trace_error(rc));
    for (size_t i = 0; i < s.tracers.size(); ++i)
      if (s.tracers[i].name == name) s.tracers.erase(s.tracers.begin() + i);
    r.line("stopped " + name);
  }
  close_if_idle(s, &r);
  return r.ok();
}

// filter|notrace [tracer=NAME] PATTERNS… ("-" alone: the empty set).
std::string verb_patterns(AgentState &s, const std::vector<std::string> &w, bool notrace) {
  const std::string verb = w[0];
  size_t first = 1;
  std::vector<RunningTracer *> targets;
  if (w.size() > 1 && w[1].rfind("tracer=", 0) == 0) {
    RunningTracer *t = find_running(s, w[1].substr(7));
    if (!t) return error(verb + ": " + w[1].substr(7) + " is not running");
    targets.push_back(t);
    first = 2;
  } else {
    for (RunningTracer &t : s.tracers) targets.push_back(&t);
  }
  if (targets.empty()) return error(verb + ": no tracer is running");
  if (first >= w.size())
    return error(verb + ": patterns expected ('-' for the empty set" +
                 (notrace ? std::string(")") : std::string(": every function)")));
  std::string patterns;
  for (size_t i = first; i < w.size(); ++i) patterns += (patterns.empty() ? "" : ",") + w[i];
  if (patterns == "-") patterns.clear();
  auto set = notrace ? sled_tracer_set_notrace : sled_tracer_set_filter;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (int rc = set(targets[i]->name.c_str(), patterns.c_str()); rc < 0) {
      std::string why = trace_error(rc);
      if (why.rfind("sled_tracer_set_", 0) == 0 && why.find(": ") != std::string::npos)
        why.erase(0, why.find(": ") + 2);  // the verb names the call already
      for (size_t j = 0; j < i; ++j) {     // put the earlier ones back
        const RunningTracer *t = targets[j];
        (void)set(t->name.c_str(), (notrace ? t->notrace : t->filter).c_str());
      }
      return error(verb + ": " + why);
    }
  }
  Reply r;
  for (RunningTracer *t : targets) {
    (notrace ? t->notrace : t->filter) = patterns;
    r.line(t->name + " " + verb + "=" + or_dash(patterns));
  }
  return r.ok();
}

std::string verb_strategy(const std::vector<std::string> &w) {
  if (w.size() != 2) return error("strategy: one name expected (callops, list, dyntramp)");
  if (int rc = sled_set_strategy(w[1].c_str()); rc < 0)
    return error("strategy: " + std::string(sled_last_error()));
  Reply r;
  r.line(std::string("strategy ") + sled_get_strategy());
  return r.ok();
}

std::string verb_stats(const std::vector<std::string> &w) {
  if (w.size() > 1) return error("stats takes no arguments");
  sled_stats st{};
  if (int rc = sled_get_stats(&st); rc < 0)
    return error("stats: " + std::string(sled_strerror(rc)));
  Reply r;
  auto add = [&](const char *key, uint64_t v) {
    r.line(std::string(key) + " " + std::to_string(v));
  };
  add("modules", st.modules);
  add("sites_found", st.sites_found);
  add("sites_refused", st.sites_refused);
  add("sites_enabled", st.sites_enabled);
  add("sites_normalized", st.sites_normalized);
  add("patch_batches", st.patch_batches);
  add("sites_patched", st.sites_patched);
  add("literal_writes", st.literal_writes);
  add("patch_failures", st.patch_failures);
  add("grace_periods", st.grace_periods);
  add("killed", st.killed ? 1 : 0);
  sled_trace_stats ts{};
  if (sled_trace_get_stats(&ts) == 0) {
    add("events", ts.events);
    add("lost", ts.lost);
    add("bytes_written", ts.bytes_written);
    add("threads", ts.threads);
  }
  return r.ok();
}

int profile_row(const sled_profile_entry *e, void *arg) {
  char line[96];
  snprintf(line, sizeof line, "%#" PRIxPTR "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t",
           e->ip, e->calls, e->total_ns, e->self_ns, e->max_ns);
  static_cast<Reply *>(arg)->line(line + std::string(e->name ? e->name : "?"));
  return 0;
}

std::string verb_profile(AgentState &s, const std::vector<std::string> &w) {
  if (w.size() > 1) return error("profile takes no arguments");
  if (!find_running(s, "profile")) return error("profile: the profile tracer is not running");
  Reply r;
  if (int rc = sled_profile_read(profile_row, &r); rc < 0)
    return error("profile: " + trace_error(rc));
  return r.ok();
}

const char *refusal_name(int refusal) {
  switch (refusal) {
    case SLED_SITE_OK:
      return "-";
    case SLED_SITE_BAD_BYTES:
      return "bad_bytes";
    case SLED_SITE_BAD_LITERAL:
      return "bad_literal";
    case SLED_SITE_MISALIGNED:
      return "misaligned";
    case SLED_SITE_UNSAFE_NOPS:
      return "unsafe_nops";
    case SLED_SITE_OUT_OF_SEGMENT:
      return "out_of_segment";
    case SLED_SITE_NO_STUB:
      return "no_stub";
    case SLED_SITE_TEXT_LOCKED:
      return "text_locked";
    default:
      return "unknown";
  }
}

// Runs under sled's lock (sled_for_each_site): formats only, calls no sled.
int site_row(const sled_site_info *info, void *arg) {
  const char *state = info->refusal ? "refused" : info->enabled ? "enabled" : "disabled";
  char head[64];
  snprintf(head, sizeof head, "%#" PRIxPTR "\t", info->ip);
  static_cast<Reply *>(arg)->line(
      head + std::string(info->module && *info->module ? info->module : "?") + "\t" +
      (info->name && *info->name ? info->name : "?") + "\t" + state + "\t" +
      std::to_string(info->nr_ops) + "\t" + refusal_name(info->refusal));
  return 0;
}

std::string verb_sites(const std::vector<std::string> &w) {
  if (w.size() > 1) return error("sites takes no arguments");
  Reply r;
  int rc = sled_for_each_site(site_row, &r);
  if (rc == -EAGAIN) {  // a library was loaded meanwhile: once more
    r.body.clear();
    rc = sled_for_each_site(site_row, &r);
  }
  if (rc < 0) return error("sites: " + std::string(sled_strerror(rc)));
  return r.ok();
}

}  // namespace

std::vector<std::string> request_words(const std::string &line) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t b = line.find_first_not_of(" \t", pos);
    if (b == std::string::npos) break;
    size_t e = line.find_first_of(" \t", b);
    if (e == std::string::npos) e = line.size();
    words.push_back(line.substr(b, e - b));
    pos = e;
  }
  return words;
}

std::string serve_request(const std::string &line) {
  for (char c : line)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      return error("the request contains a control character");
  std::vector<std::string> w = request_words(line);
  if (w.empty()) return error(std::string("empty request (verbs: ") + kVerbs + ")");
  AgentState &s = agent_state();
  std::lock_guard lock(s.mu);
  if (s.exiting) return error("the process is exiting");
  const std::string &verb = w[0];
  if (verb == "list") return verb_list(s, w);
  if (verb == "start") return verb_start(s, w);
  if (verb == "stop") return verb_stop(s, w);
  if (verb == "filter") return verb_patterns(s, w, false);
  if (verb == "notrace") return verb_patterns(s, w, true);
  if (verb == "strategy") return verb_strategy(w);
  if (verb == "stats") return verb_stats(w);
  if (verb == "profile") return verb_profile(s, w);
  if (verb == "sites") return verb_sites(w);
  return error("unknown verb '" + verb + "' (" + kVerbs + ")");
}

}  // namespace sled::agent
