// /proc readers for `sled attach` (target_process.h).
#include "attach/target_process.h"

#include <dirent.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sled::attach {

bool read_status(pid_t pid, ProcessStatus *out, std::string *error) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) {
    *error = "no process with PID " + std::to_string(pid);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char *key) -> const char * {
      size_t n = std::strlen(key);
      if (line.compare(0, n, key) != 0) return nullptr;
      const char *v = line.c_str() + n;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    };
    if (const char *v = value("Name:")) out->name = v;
    if (const char *v = value("State:")) out->state = *v;
    if (const char *v = value("Uid:")) out->uid = static_cast<uid_t>(std::strtoul(v, nullptr, 10));
    if (const char *v = value("TracerPid:"))
      out->tracer = static_cast<pid_t>(std::strtol(v, nullptr, 10));
  }
  return true;
}

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> tids;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR *d = opendir(dir.c_str());
  if (!d) return tids;
  while (dirent *e = readdir(d)) {
    char *end = nullptr;
    long tid = std::strtol(e->d_name, &end, 10);
    if (*e->d_name && !*end) tids.push_back(static_cast<pid_t>(tid));
  }
  closedir(d);
  std::sort(tids.begin(), tids.end());
  return tids;
}

std::vector<MappedFile> list_mapped_files(pid_t pid, std::string *error) {
  std::vector<MappedFile> files;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  if (!in) {
    *error = "cannot read /proc/" + std::to_string(pid) + "/maps: " + std::strerror(errno);
    return files;
  }
  std::string line;
  while (std::getline(in, line)) {
    // start-end perms offset major:minor inode   path
    uintptr_t start = 0, end = 0, offset = 0;
    char perms[8] = {};
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNxPTR " %x:%x %llu %n",
                    &start, &end, perms, &offset, &major, &minor, &inode, &path_at) < 7)
      continue;
    if (inode == 0 || path_at <= 0 || line[path_at] != '/') continue;
    std::string path = line.substr(path_at);
    uint64_t dev = makedev(major, minor);
    auto it = std::find_if(files.begin(), files.end(), [&](const MappedFile &f) {
      return f.dev == dev && f.inode == inode && f.path == path;
    });
    if (it == files.end()) {
      files.push_back(MappedFile{path, dev, inode, {}});
      it = files.end() - 1;
    }
    it->ranges.push_back({start, end, offset, perms[2] == 'x'});
  }
  return files;
}

std::string target_view(pid_t pid, const std::string &path) {
  return "/proc/" + std::to_string(pid) + "/root" + path;
}

}  // namespace sled::attach
