#include "trace_set.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "record/reader.h"

namespace sled::cli {

std::string program_name(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string trace_processes(const std::string &dir, uint32_t pid, std::vector<ProcessTrace> *out) {
  namespace fs = std::filesystem;
  std::vector<ProcessTrace> children;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("pid-", 0) != 0 || !fs::exists(it->path() / "trace.sled")) continue;
    char *rest = nullptr;
    unsigned long n = std::strtoul(name.c_str() + 4, &rest, 10);
    if (*rest || n == 0 || n > UINT32_MAX) continue;
    children.push_back({it->path().string(), static_cast<uint32_t>(n)});
  }
  std::sort(children.begin(), children.end(),
            [](const ProcessTrace &a, const ProcessTrace &b) { return a.pid < b.pid; });
  std::vector<ProcessTrace> all;
  if (children.empty() || fs::exists(fs::path(dir) / "trace.sled")) all.push_back({dir, 0});
  all.insert(all.end(), children.begin(), children.end());
  if (pid == 0) {
    *out = std::move(all);
    return "";
  }
  std::string pids;
  for (ProcessTrace &p : all) {
    uint32_t actual = p.pid;
    if (actual == 0) {  // DIR itself: its header says whose it is
      auto t = reader::Trace::open(p.dir);
      if (t.ok()) actual = t->header().pid;
    }
    if (actual == pid) {
      *out = {p};
      return "";
    }
    if (actual) pids += (pids.empty() ? "" : ", ") + std::to_string(actual);
  }
  return "no process " + std::to_string(pid) + " in this trace" +
         (pids.empty() ? std::string() : " (processes: " + pids + ")");
}

}  // namespace sled::cli
