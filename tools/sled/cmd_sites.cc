// sled sites PROG|PID [--summary]: the patchable functions, their module,
// state, ops, layout and refusal reason. PROG is read from its file (and
// the instrumented libraries it needs); a PID is asked through its agent's
// control socket when it has one, and otherwise read from the files its
// /proc/PID/maps names (state "unknown (no agent)"). Both print with
// sites.h, so only the data source differs.
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "commands.h"
#include "sites.h"

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

// Without an agent: every file mapped executable, read from disk.
int from_maps(const SitesOptions &o, std::vector<ModuleSites> *out) {
  std::string maps = "/proc/" + o.target + "/maps";
  std::ifstream in(maps);
  if (!in) {
    int err = errno;
    if (access(("/proc/" + o.target).c_str(), F_OK) != 0)
      return fail(1, fmt::format("sites: no process {}", o.target));
    return fail(1, fmt::format("sites: {}: {}", maps, std::strerror(err)));
  }
  std::set<std::string> seen;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string range, perms, offset, dev, inode, file;
    if (!(f >> range >> perms >> offset >> dev >> inode)) continue;
    std::getline(f >> std::ws, file);
    if (perms.size() < 3 || perms[2] != 'x' || file.empty() || file[0] != '/') continue;
    if (!seen.insert(file).second) continue;
    ModuleSites m;
    if (!read_file_sites(file, &m).empty() || m.sites.empty()) continue;
    for (SiteRow &r : m.sites)
      if (r.refusal == 0) r.state = "unknown (no agent)";
    out->push_back(std::move(m));
  }
  if (out->empty())
    return fail(1, fmt::format("sites: process {} has no patchable functions", o.target));
  return 0;
}

void run(const SitesOptions &o) {
  std::vector<ModuleSites> modules;
  int rc = is_pid(o.target) ? from_maps(o, &modules) : from_program(o, &modules);
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
