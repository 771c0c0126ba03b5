// libelf reader for module files: section headers and symbol tables only.
#include "core/elf_reader.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sled {
namespace {

constexpr const char kPatchSection[] = "__patchable_function_entries";

void read_functions(Elf *elf, Elf_Scn *symtab, ElfFacts *out) {
  GElf_Shdr sh;
  if (!gelf_getshdr(symtab, &sh) || sh.sh_entsize == 0) return;
  Elf_Data *data = elf_getdata(symtab, nullptr);
  if (!data) return;
  size_t count = sh.sh_size / sh.sh_entsize;
  out->functions.reserve(out->functions.size() + count);
  if (Elf_Scn *strtab = elf_getscn(elf, sh.sh_link)) {
    GElf_Shdr strsh;
    if (gelf_getshdr(strtab, &strsh)) out->names.reserve(out->names.size() + strsh.sh_size);
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

int read_elf_facts(const char *path, ElfFacts *out) {
  if (elf_version(EV_CURRENT) == EV_NONE) return -ENOSYS;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int result = -ENOEXEC;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  size_t shstrndx;
  GElf_Ehdr eh;
  if (elf && elf_kind(elf) == ELF_K_ELF && gelf_getclass(elf) == ELFCLASS64 &&
      gelf_getehdr(elf, &eh) && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    out->shared = eh.e_type == ET_DYN;
    Elf_Scn *symtab = nullptr, *dynsym = nullptr;
    for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(elf, scn));) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) continue;
      const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (name && strcmp(name, kPatchSection) == 0 && sh.sh_size && (sh.sh_flags & SHF_ALLOC))
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
    result = 0;
  }
  if (elf) elf_end(elf);
  close(fd);
  return result;
}

}  // namespace sled
