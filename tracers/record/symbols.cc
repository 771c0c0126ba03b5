// Builds the rec_symbols payload (docs/trace-format.md, "Symbols").
#include "symbols.h"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>
#include <map>
#include <vector>

#include "sled/sled.h"
#include "trace_file.h"

namespace sled::rec {
namespace {

struct Object {
  uintptr_t lo, hi;
  std::string path;
  std::string build_id;  // raw bytes of NT_GNU_BUILD_ID, or empty
};

// The GNU build-id note of a loaded object, read from its PT_NOTE segments
// in memory (they lie in its first, readable, PT_LOAD: no file is opened).
std::string build_id_of(const dl_phdr_info *info) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    // The note must lie inside a readable PT_LOAD, or it is not mapped.
    bool mapped = false;
    for (int k = 0; k < info->dlpi_phnum; k++) {
      const ElfW(Phdr) &load = info->dlpi_phdr[k];
      if (load.p_type == PT_LOAD && (load.p_flags & PF_R) && ph.p_vaddr >= load.p_vaddr &&
          ph.p_vaddr + ph.p_memsz <= load.p_vaddr + load.p_memsz)
        mapped = true;
    }
    if (!mapped) continue;
    const char *p = reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
    const char *end = p + ph.p_memsz;
    while (end - p >= static_cast<ptrdiff_t>(sizeof(ElfW(Nhdr)))) {
      ElfW(Nhdr) n;
      std::memcpy(&n, p, sizeof n);
      size_t name_size = (n.n_namesz + 3) & ~size_t{3}, desc_size = (n.n_descsz + 3) & ~size_t{3};
      const char *name = p + sizeof n, *desc = name + name_size;
      if (name_size > static_cast<size_t>(end - name) ||
          desc_size > static_cast<size_t>(end - desc))
        break;
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
        return std::string(desc, n.n_descsz);
      p = desc + desc_size;
    }
  }
  return "";
}

struct Site {
  uintptr_t ip;
  std::string name, module;
};

int collect_objects(dl_phdr_info *info, size_t, void *arg) {
  auto *out = static_cast<std::vector<Object> *>(arg);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    lo = std::min<uintptr_t>(lo, info->dlpi_addr + ph.p_vaddr);
    hi = std::max<uintptr_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
  }
  if (lo < hi) out->push_back({lo, hi, info->dlpi_name ? info->dlpi_name : "", build_id_of(info)});
  return 0;
}

int collect_site(const sled_site_info *info, void *arg) {
  static_cast<std::vector<Site> *>(arg)->push_back(
      {info->ip, info->name ? info->name : "", info->module ? info->module : ""});
  return 0;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

int build_symbols(std::string *payload) {
  std::vector<Site> sites;
  int rc = sled_for_each_site(collect_site, &sites);
  if (rc < 0) return rc;
  std::vector<Object> objects;
  dl_iterate_phdr(collect_objects, &objects);
  std::sort(sites.begin(), sites.end(), [](const Site &a, const Site &b) { return a.ip < b.ip; });

  // Modules: one per (object, sled's module name) holding a site; sites in
  // no object (should not happen) get an empty range.
  struct Module {
    std::string name, path;
    uintptr_t lo, hi;
    std::string build_id;
  };
  std::vector<Module> modules;
  std::map<std::pair<long, std::string>, size_t> index;
  std::vector<size_t> site_module(sites.size());
  for (size_t i = 0; i < sites.size(); i++) {
    long obj = -1;
    for (size_t k = 0; k < objects.size(); k++)
      if (sites[i].ip >= objects[k].lo && sites[i].ip < objects[k].hi) obj = static_cast<long>(k);
    auto key = std::make_pair(obj, sites[i].module);
    auto it = index.find(key);
    if (it == index.end()) {
      Module m{sites[i].module, "", 0, 0, ""};
      if (obj >= 0) {
        m.path = objects[obj].path.empty() ? self_exe() : objects[obj].path;
        m.lo = objects[obj].lo;
        m.hi = objects[obj].hi;
        m.build_id = objects[obj].build_id;
      }
      it = index.emplace(key, modules.size()).first;
      modules.push_back(m);
    }
    site_module[i] = it->second;
  }
  std::string &s = *payload;
  s.clear();
  put_varint(s, modules.size());
  for (const Module &m : modules) {
    put_string(s, m.name);
    put_string(s, m.path);
    put_varint(s, m.lo);
    put_varint(s, m.hi - m.lo);
  }
  put_varint(s, sites.size());
  uintptr_t prev = 0;
  for (size_t i = 0; i < sites.size(); i++) {
    put_varint(s, site_module[i]);
    put_varint(s, sites[i].ip - prev);
    prev = sites[i].ip;
    put_string(s, sites[i].name);
  }
  // Added after the sites, so that readers that stop there still read it.
  for (const Module &m : modules) put_string(s, m.build_id);
  return 0;
}

}  // namespace sled::rec
