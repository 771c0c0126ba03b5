// elf_fuzz.cc — libFuzzer target for what sled reads of a module file: the
// mutated input is written to a memfd and read by read_elf_facts through a
// path, as the runtime reads a module; then build_module (the site-table
// half of scan_module) runs on its results over a fake mapping of the same
// input, laid out from its program headers as the loader would map it (in
// one heap buffer, so ASan sees any read outside it). The harness checks
// that every site sled accepts lies inside the fake text.
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "arch/arch.h"
#include "core/elf_reader.h"
#include "core/module_scan.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxSpan = uint64_t{16} << 20;  // the fake mapping's size limit

struct FakeMapping {
  uint8_t *base = nullptr;  // page-aligned heap buffer
  uint64_t size = 0;
  ~FakeMapping() { free(base); }
};

bool in_input(uint64_t off, uint64_t len, size_t size) { return off <= size && len <= size - off; }

// Lays out the input's PT_LOADs like the loader (file bytes, then zeros).
// False when the program headers cannot be mapped.
bool map_like_loader(const uint8_t *data, size_t size, FakeMapping *map, sled::LoadedObject *obj) {
  if (size < sizeof(Elf64_Ehdr)) return false;
  Elf64_Ehdr eh;
  memcpy(&eh, data, sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_phentsize != sizeof(Elf64_Phdr))
    return false;
  if (!in_input(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), size)) return false;
  std::vector<Elf64_Phdr> loads;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, data + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_memsz > kMaxSpan || ph.p_vaddr > kMaxSpan || ph.p_filesz > ph.p_memsz) return false;
    loads.push_back(ph);
    lo = std::min(lo, ph.p_vaddr & ~(kPage - 1));
    hi = std::max(hi, (ph.p_vaddr + ph.p_memsz + kPage - 1) & ~(kPage - 1));
  }
  if (loads.empty() || hi - lo > kMaxSpan) return false;
  map->size = hi - lo;
  map->base = static_cast<uint8_t *>(aligned_alloc(kPage, map->size));
  if (!map->base) return false;
  memset(map->base, 0, map->size);
  obj->bias = reinterpret_cast<uintptr_t>(map->base) - lo;
  for (const Elf64_Phdr &ph : loads) {
    if (in_input(ph.p_offset, ph.p_filesz, size))
      memcpy(map->base + (ph.p_vaddr - lo), data + ph.p_offset, ph.p_filesz);
    sled::TextSegment seg;
    seg.lo = (obj->bias + ph.p_vaddr) & ~(kPage - 1);
    seg.hi = (obj->bias + ph.p_vaddr + ph.p_memsz + kPage - 1) & ~(kPage - 1);
    seg.prot = ((ph.p_flags & PF_R) ? PROT_READ : 0) | ((ph.p_flags & PF_W) ? PROT_WRITE : 0) |
               ((ph.p_flags & PF_X) ? PROT_EXEC : 0);
    obj->readable.push_back(seg);
    if (ph.p_flags & PF_X) obj->text.push_back(seg);
  }
  return true;
}

// The loader's R_*_RELATIVE relocations of the patch table: a word that is
// a link-time address inside the mapping becomes a run-time one.
void relocate_patch_tables(const sled::ElfFacts &facts, const FakeMapping &map, uintptr_t bias) {
  uintptr_t lo = reinterpret_cast<uintptr_t>(map.base);
  for (auto [addr, size] : facts.patch_sections) {
    uintptr_t at = bias + addr;  // may wrap: checked below
    if (at < lo || at - lo > map.size || size > map.size - (at - lo)) continue;
    for (uint64_t off = 0; off + sizeof(uint64_t) <= size; off += sizeof(uint64_t)) {
      uint64_t v;
      memcpy(&v, reinterpret_cast<void *>(at + off), sizeof v);
      if (v != 0 && bias + v >= lo && bias + v - lo < map.size) v += bias;
      memcpy(reinterpret_cast<void *>(at + off), &v, sizeof v);
    }
  }
}

int input_fd() {
  static int fd = memfd_create("sled-elf-fuzz", MFD_CLOEXEC);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = input_fd();
  if (fd < 0 || ftruncate(fd, 0) != 0) abort();
  if (size && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

  sled::ElfFacts facts;
  if (sled::read_elf_facts(path, &facts) != 0 || facts.patch_sections.empty()) return 0;
  FakeMapping map;
  sled::LoadedObject obj;
  obj.path = path;
  obj.base_name = "fuzz.so";
  if (!map_like_loader(data, size, &map, &obj)) return 0;
  if (facts.shared) relocate_patch_tables(facts, map, obj.bias);

  std::vector<uintptr_t> to_normalize;
  std::vector<size_t> normalize_sites;
  std::unique_ptr<sled::Module> m =
      sled::build_module(obj, facts, true, &to_normalize, &normalize_sites);
  if (!m) return 0;
  uintptr_t lo = reinterpret_cast<uintptr_t>(map.base);
  for (const sled::Site &s : m->sites) {
    if (s.refusal != SLED_SITE_OK) continue;
    uintptr_t literal = s.entry - sled::arch::kLiteralSize;
    if (s.entry < sled::arch::kLiteralSize || literal < lo || literal - lo > map.size ||
        map.size - (literal - lo) < sled::arch::kSiteWindow) {
      fprintf(stderr, "accepted site %#lx outside the mapping\n",
              static_cast<unsigned long>(s.entry));
      abort();
    }
    (void)m->name_of(s)[0];  // names are NUL-terminated in the pool
  }
  for (size_t i : normalize_sites)
    if (i >= m->sites.size()) abort();
  return 0;
}
