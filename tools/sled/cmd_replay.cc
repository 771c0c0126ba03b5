// sled replay: every event in time order, one per line: time since the
// trace started, tid, then the function indented by depth, with its
// arguments on entry and its duration and return value on exit.
#include <fmt/format.h>

#include <algorithm>

#include "call_text.h"
#include "commands.h"
#include "load.h"
#include "output.h"

namespace sled::cli {
namespace {

struct ReplayOptions {
  std::string dir = "sled.trace";
  uint32_t pid = 0;
  bool srcline = false;
};

const char *marker_name(uint32_t kind) {
  switch (kind) {
    case 1:
      return "traceon";
    case 2:
      return "traceoff";
    case 3:
      return "snapshot";
    case 4:
      return "inject delay";
    case 5:
      return "inject return";
  }
  return "marker";
}

void replay(const TraceModel &m, const ReplayOptions &o) {
  struct Item {
    const ThreadCalls *t;
    const Line *l;
  };
  std::vector<Item> all;
  for (const ThreadCalls &t : m.threads())
    for (const Line &l : t.lines) all.push_back({&t, &l});
  std::stable_sort(all.begin(), all.end(),
                   [](const Item &a, const Item &b) { return a.l->ns < b.l->ns; });
  std::printf(
      "%s\n",
      paint(fmt::format("#{:>13}  {:>7}  {}", "TIMESTAMP", "TID", "FUNCTION"), "1").c_str());
  for (const Item &it : all) {
    const Line &l = *it.l;
    std::string ts = fmt::format("{:>10.6f}", (l.ns - m.start_ns()) / 1e9);
    std::string indent(2 * l.depth, ' ');
    std::string text;
    if (l.kind == reader::EventKind::entry) {
      const Call &c = it.t->calls[l.call];
      std::string src = o.srcline ? m.source(c.ip) : "";
      text = fmt::format("{}{}{} {{{}", indent, paint(m.name(c.ip), "36"), args_text(m, c),
                         src.empty() ? "" : " /* " + src + " */");
    } else if (l.kind == reader::EventKind::exit) {
      const Call &c = it.t->calls[l.call];
      std::string ret = retval_text(m, c);
      text = fmt::format("{}}} /* {}{}: {}{} */", indent, m.name(c.ip), ret,
                         paint(duration(c.duration()), "33"), c.unwound ? ", unwound" : "");
    } else if (l.kind == reader::EventKind::stack) {
      text = indent + "/* stack:";
      for (uint64_t ip : l.values) text += " " + m.name(ip);
      text += " */";
    } else {
      text = fmt::format("{}/* {} {}{} */", indent, marker_name(l.marker),
                         l.values.empty() ? std::string() : m.name(l.values[0]),
                         l.marker >= 4 ? fmt::format(" {}", l.marker_arg) : "");
    }
    std::printf("%s  %7u  %s\n", ts.c_str(), it.t->tid, text.c_str());
  }
}

void run(const ReplayOptions &o) {
  bool first = true;
  for_each_process(o.dir, o.pid, [&](TraceModel &m, bool several) {
    if (several) std::printf("%s%s\n", first ? "" : "\n", process_heading(m).c_str());
    first = false;
    replay(m, o);
  });
}

}  // namespace

void add_replay(CLI::App &app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App *cmd = app.add_subcommand("replay", "Every event in time order");
  cmd->add_option("-d,--data", o->dir, "Trace directory")->capture_default_str();
  cmd->add_option("--pid", o->pid, "Only this process of a multi-process trace (record --follow)");
  cmd->add_flag("--srcline", o->srcline, "Show each function's source file and line (debug info)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
