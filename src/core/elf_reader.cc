// libelf reader for module files: section headers and symbol tables only.
// The file is untrusted input (it may be corrupt, or not the file that was
// mapped): every size taken from a header is checked against the file's
// size before it sizes an allocation or a loop, with overflow-safe
// arithmetic, and counts come from the data libelf validated, not from
// sh_size. Reads no memory of the process; module_scan.cc checks addresses.
#include "core/elf_reader.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sled {
namespace {

constexpr const char kPatchSection[] = "__patchable_function_entries";

// Whether [offset, offset + size) lies inside a file of `file_size` bytes.
bool in_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

void read_functions(Elf *elf, Elf_Scn *symtab, ElfFacts *out) {
  GElf_Shdr sh;
  if (!gelf_getshdr(symtab, &sh)) return;
  // libelf checked that the data lies in the file; sh_size may still lie.
  Elf_Data *data = elf_getdata(symtab, nullptr);
  size_t sym_size = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
  if (!data || sym_size == 0 || data->d_type != ELF_T_SYM) return;
  size_t count = data->d_size / sym_size;
  out->functions.reserve(out->functions.size() + count);
  if (Elf_Scn *strtab = elf_getscn(elf, sh.sh_link)) {
    Elf_Data *strings = strtab != symtab ? elf_getdata(strtab, nullptr) : nullptr;
    if (strings) out->names.reserve(out->names.size() + strings->d_size);
  }
  for (size_t i = 0; i < count; i++) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
    if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
      continue;
    if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
    if (!name || !*name) continue;
    ElfFunctionSymbol f;
    f.value = sym.st_value;
    f.name = static_cast<uint32_t>(out->names.size());
    f.global = GELF_ST_BIND(sym.st_info) != STB_LOCAL;
    out->names.append(name).push_back('\0');
    out->functions.push_back(f);
  }
}

}  // namespace

namespace {
// Closes the file and ends the libelf handle on every path, including an
// allocation failure thrown from a vector (core/oom.h).
struct OpenElf {
  int fd = -1;
  Elf *elf = nullptr;
  ~OpenElf() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};
}  // namespace

int read_elf_facts(const char *path, ElfFacts *out) {
  if (elf_version(EV_CURRENT) == EV_NONE) return -ENOSYS;
  OpenElf file;
  file.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) return -errno;
  struct stat st;
  if (fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) return -ENOEXEC;
  auto file_size = static_cast<uint64_t>(st.st_size);
  // libelf reports a failed allocation only as a failed call: errno tells.
  errno = 0;
  Elf *elf = file.elf = elf_begin(file.fd, ELF_C_READ_MMAP, nullptr);
  size_t shstrndx;
  GElf_Ehdr eh;
  if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 ||
      !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0)
    return errno == ENOMEM ? -ENOMEM : -ENOEXEC;
  out->shared = eh.e_type == ET_DYN;
  Elf_Scn *symtab = nullptr, *dynsym = nullptr;
  for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
    // A table of 8-byte addresses, stored in the file (so no larger than
    // it), in the address space without wrapping.
    if (name && strcmp(name, kPatchSection) == 0 && sh.sh_size && (sh.sh_flags & SHF_ALLOC) &&
        sh.sh_type == SHT_PROGBITS && sh.sh_size % sizeof(uint64_t) == 0 &&
        in_file(sh.sh_offset, sh.sh_size, file_size) && sh.sh_addr + sh.sh_size > sh.sh_addr)
      out->patch_sections.emplace_back(sh.sh_addr, sh.sh_size);
    if (sh.sh_type == SHT_SYMTAB) symtab = scn;
    if (sh.sh_type == SHT_DYNSYM) dynsym = scn;
  }
  if (!out->patch_sections.empty()) {
    if (symtab) read_functions(elf, symtab, out);
    if (dynsym && out->functions.empty()) read_functions(elf, dynsym, out);
    std::sort(out->functions.begin(), out->functions.end(),
              [](const ElfFunctionSymbol &a, const ElfFunctionSymbol &b) {
                if (a.value != b.value) return a.value < b.value;
                return a.global && !b.global;
              });
  }
  // A section or symbol table libelf could not allocate for: the facts are
  // incomplete (functions without names), not wrong. Say so.
  return errno == ENOMEM ? -ENOMEM : 0;
}

}  // namespace sled
