// libelf readers for `sled attach` (target_elf.h).
#include "attach/target_elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sled::attach {
namespace {

// The file the target mapped: its path in the target's mount namespace when
// that is still the same file, else the kernel's handle on the mapping
// (map_files/, which also reaches a file deleted or replaced since).
int open_mapped(pid_t pid, const MappedFile &file) {
  int fd = open(target_view(pid, file.path).c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == file.dev && st.st_ino == file.inode) return fd;
  if (fd >= 0) close(fd);
  const MappedFile::Range &r = file.ranges.front();
  char name[96];
  snprintf(name, sizeof name, "/proc/%d/map_files/%lx-%lx", pid,
           static_cast<unsigned long>(r.start), static_cast<unsigned long>(r.end));
  return open(name, O_RDONLY | O_CLOEXEC);
}

struct ElfHandle {
  int fd = -1;
  Elf *elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

}  // namespace

bool read_module(pid_t pid, const MappedFile &file, const std::vector<std::string> &wanted,
                 ModuleFacts *out, std::string *error) {
  out->path = file.path;
  elf_version(EV_CURRENT);
  ElfHandle h;
  h.fd = open_mapped(pid, file);
  if (h.fd < 0) {
    *error = file.path + ": " + std::strerror(errno);
    return false;
  }
  h.elf = elf_begin(h.fd, ELF_C_READ, nullptr);
  GElf_Ehdr ehdr;
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF || !gelf_getehdr(h.elf, &ehdr)) {
    *error = file.path + ": not an ELF file";
    return false;
  }
  // The bias: the lowest mapping of the file is the page holding a PT_LOAD
  // segment's start (the loader maps each at page granularity).
  const long page = sysconf(_SC_PAGESIZE);
  const auto page_down = [&](uint64_t v) { return v & ~static_cast<uint64_t>(page - 1); };
  size_t phnum = 0;
  elf_getphdrnum(h.elf, &phnum);
  bool found = false;
  for (const MappedFile::Range &r : file.ranges) {
    for (size_t i = 0; i < phnum && !found; i++) {
      GElf_Phdr ph;
      if (!gelf_getphdr(h.elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
      if (page_down(ph.p_offset) != r.offset) continue;
      out->bias = r.start - page_down(ph.p_vaddr);
      found = true;
    }
    if (found) break;
  }
  if (!found) {
    *error = file.path + ": no mapping matches a loadable segment";
    return false;
  }
  size_t shstrndx = 0;
  elf_getshdrstrndx(h.elf, &shstrndx);
  for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(h.elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char *name = elf_strptr(h.elf, shstrndx, sh.sh_name);
    if (!name) continue;
    if (std::strcmp(name, "__patchable_function_entries") == 0 && (sh.sh_flags & SHF_ALLOC) &&
        sh.sh_size)
      out->site_tables.emplace_back(out->bias + sh.sh_addr, sh.sh_size);
    if (sh.sh_type != SHT_DYNSYM || wanted.empty()) continue;
    Elf_Data *data = elf_getdata(scn, nullptr);
    if (!data || !sh.sh_entsize) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      // Plain functions only: an IFUNC's address is its resolver's.
      if (GELF_ST_TYPE(sym.st_info) != STT_FUNC) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
      const char *s = elf_strptr(h.elf, sh.sh_link, sym.st_name);
      if (!s) continue;
      for (const std::string &w : wanted)
        if (w == s) out->symbols.emplace_back(w, out->bias + sym.st_value);
    }
  }
  return true;
}

}  // namespace sled::attach
