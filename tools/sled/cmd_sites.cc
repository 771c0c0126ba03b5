// sled sites PROG|PID [--summary]: the patchable functions, their module,
// state, ops, layout and refusal reason. PROG is read from its file (and
// the instrumented libraries it needs); a PID is asked through its agent's
// control socket (docs/control.md) when it has one, and otherwise read
// from the files its /proc/PID/maps names (state "unknown (no agent)").
// All print with sites.h: only the data source differs.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "ctl_client.h"
#include "sites.h"
#include "trace_model.h"

namespace sled::cli {
namespace {

struct SitesOptions {
  std::string target;
  bool summary = false;
};

bool is_pid(const std::string &s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// PROG as execvp would find it; "" when not found.
std::string find_program(const std::string &prog) {
  if (prog.find('/') != std::string::npos) return prog;
  const char *path = getenv("PATH");
  for (const std::string &dir : CLI::detail::split(path ? path : "", ':'))
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) return dir + "/" + prog;
  return "";
}

int from_program(const SitesOptions &o, std::vector<ModuleSites> *out) {
  std::string path = find_program(o.target);
  if (path.empty()) return fail(1, fmt::format("sites: {}: command not found", o.target));
  if (access(path.c_str(), R_OK) != 0)
    return fail(1, fmt::format("sites: {}: {}", path, std::strerror(errno)));
  ModuleSites prog;
  if (std::string err = read_file_sites(path, &prog); !err.empty()) return fail(1, "sites: " + err);
  if (!prog.sites.empty()) out->push_back(std::move(prog));
  for (const std::string &lib : needed_libraries(path)) {
    ModuleSites m;
    if (read_file_sites(lib, &m).empty() && !m.sites.empty()) out->push_back(std::move(m));
  }
  if (out->empty())
    return fail(1, fmt::format("sites: {}: no patchable functions (not built with "
                               "-fpatchable-function-entry, nor any library it needs)",
                               o.target));
  return 0;
}

// Every file process `pid` maps executable, with the address its first
// page (file offset 0) is mapped at.
struct Mapped {
  std::string path;
  uint64_t start = 0;
};
bool read_maps(const std::string &pid, std::vector<Mapped> *out, std::string *error) {
  std::string maps = "/proc/" + pid + "/maps";
  std::ifstream in(maps);
  if (!in) {
    *error = fmt::format("{}: {}", maps, std::strerror(errno));
    return false;
  }
  std::map<std::string, Mapped> by_path;
  std::vector<std::string> exec_order;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string range, perms, offset, dev, inode, file;
    if (!(f >> range >> perms >> offset >> dev >> inode)) continue;
    std::getline(f >> std::ws, file);
    if (file.empty() || file[0] != '/') continue;
    uint64_t start = std::strtoull(range.c_str(), nullptr, 16);
    Mapped &m = by_path[file];
    if (m.path.empty()) {
      m.path = file;
      m.start = UINT64_MAX;
    }
    if (std::strtoull(offset.c_str(), nullptr, 16) == 0 && start < m.start) m.start = start;
    if (perms.size() >= 3 && perms[2] == 'x' &&
        std::find(exec_order.begin(), exec_order.end(), file) == exec_order.end())
      exec_order.push_back(file);
  }
  for (const std::string &p : exec_order) out->push_back(by_path[p]);
  return true;
}

// Without an agent: every file mapped executable, read from disk.
int from_maps(const SitesOptions &o, std::vector<ModuleSites> *out) {
  std::vector<Mapped> mapped;
  std::string error;
  if (!read_maps(o.target, &mapped, &error)) return fail(1, "sites: " + error);
  for (const Mapped &f : mapped) {
    ModuleSites m;
    if (!read_file_sites(f.path, &m).empty() || m.sites.empty()) continue;
    for (SiteRow &r : m.sites)
      if (r.refusal == 0) r.state = "unknown (no agent)";
    out->push_back(std::move(m));
  }
  if (out->empty())
    return fail(1, fmt::format("sites: process {} has no patchable functions", o.target));
  return 0;
}

// From the agent's control socket (`sites`, docs/control.md): the live
// state, ops and refusal of every site; the layout and the module-relative
// address come from the module's file, found through /proc/PID/maps.
int from_agent(pid_t pid, const std::string &socket, const SitesOptions &o,
               std::vector<ModuleSites> *out) {
  CtlReply reply;
  std::string error;
  if (!ctl_request(socket, pid, "sites", &reply, &error)) return fail(1, "sites: " + error);
  if (!reply.ok) return fail(1, "sites: " + reply.error);
  std::vector<Mapped> mapped;
  read_maps(o.target, &mapped, &error);  // without it: runtime addresses, no layouts
  std::map<std::string, size_t> index;   // module name -> out
  std::vector<uint64_t> bias;
  for (const std::string &line : reply.lines) {
    std::vector<std::string> f;
    size_t pos = 0;
    while (true) {
      size_t tab = line.find('\t', pos);
      f.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
      if (tab == std::string::npos) break;
      pos = tab + 1;
    }
    if (f.size() < 6) continue;
    auto it = index.find(f[1]);
    if (it == index.end()) {
      ModuleSites m;
      m.name = f[1];
      uint64_t b = 0;
      for (const Mapped &mp : mapped)
        if (std::filesystem::path(mp.path).filename() == f[1]) {
          read_file_sites(mp.path, &m);
          b = mp.start - (m.min_vaddr & ~uint64_t{4095});
          break;
        }
      m.name = f[1];
      it = index.emplace(f[1], out->size()).first;
      out->push_back(std::move(m));
      bias.push_back(b);
    }
    ModuleSites &m = (*out)[it->second];
    SiteRow row;
    row.module = m.name;
    row.address = std::strtoull(f[0].c_str(), nullptr, 16) - bias[it->second];
    row.function = demangle(f[2]);
    row.state = f[3] == "enabled" ? "on" : f[3] == "disabled" ? "off" : f[3];
    row.ops = std::atoi(f[4].c_str());
    row.refusal = f[5] == "-" ? 0 : refusal_from_name(f[5]);
    row.layout = "?";
    for (const SiteRow &r : m.sites)
      if (r.address == row.address && !r.layout.empty() && r.ops < 0) row.layout = r.layout;
    m.sites.push_back(std::move(row));
  }
  // Keep the live rows only (the file's were read for their layouts).
  for (ModuleSites &m : *out)
    m.sites.erase(
        std::remove_if(m.sites.begin(), m.sites.end(), [](const SiteRow &r) { return r.ops < 0; }),
        m.sites.end());
  if (out->empty())
    return fail(1, fmt::format("sites: process {} has no patchable functions", o.target));
  return 0;
}

int from_process(const SitesOptions &o, std::vector<ModuleSites> *out) {
  pid_t pid = 0;
  std::string error, socket;
  if (!ctl_parse_pid(o.target, &pid, &error)) return fail(1, "sites: " + error);
  if (ctl_find_socket(pid, &socket, &error)) return from_agent(pid, socket, o, out);
  if (error.find("has no sled agent") == std::string::npos) return fail(1, "sites: " + error);
  return from_maps(o, out);
}

void run(const SitesOptions &o) {
  std::vector<ModuleSites> modules;
  int rc = is_pid(o.target) ? from_process(o, &modules) : from_program(o, &modules);
  if (rc != 0) return;
  if (o.summary)
    print_summary(modules);
  else
    print_sites(modules);
}

}  // namespace

void add_sites(CLI::App &app) {
  auto o = std::make_shared<SitesOptions>();
  CLI::App *cmd = app.add_subcommand(
      "sites", "The patchable functions of PROG or of process PID: module, state, ops, refusals");
  cmd->add_option("target", o->target, "PROG (a file, or a name on PATH) or PID")->required();
  cmd->add_flag("--summary", o->summary, "Counts per module (sites, traceable, refused, layouts)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
