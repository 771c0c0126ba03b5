// `sled sites` data from a file: the __patchable_function_entries table
// (relocated the way the loader would: R_*_RELATIVE addends of a PIE or
// DSO), the bytes at each entry from the file's executable PT_LOAD
// segments, classified by libsled's own arch code (src/arch: the same
// shapes and refusals as at run time), names from the symbol tables
// (src/core/elf_reader.cc). Also the output format shared with the live
// (PID) form. Reads files only; never runs or maps the program.
#include "sites.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "arch/aarch64/encode.h"
#include "arch/arch.h"
#include "core/elf_reader.h"
#include "sled/sled.h"
#include "trace_model.h"

namespace sled::cli {
namespace {

#ifndef R_AARCH64_RELATIVE
#define R_AARCH64_RELATIVE 1027
#endif

struct Segment {
  uint64_t vaddr, offset, filesz;
  bool exec;
};

// Closes what it opened.
struct ElfHandle {
  int fd = -1;
  Elf *elf = nullptr;
  explicit ElfHandle(const std::string &path) {
    elf_version(EV_CURRENT);
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  }
  ~ElfHandle() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

// The file bytes of [addr, addr + n), when a PT_LOAD segment holds them
// (in its file part), optionally an executable one.
const unsigned char *bytes_at(const std::vector<Segment> &segs, const char *raw, size_t raw_size,
                              uint64_t addr, uint64_t n, bool exec_only) {
  for (const Segment &s : segs) {
    if (exec_only && !s.exec) continue;
    if (addr < s.vaddr || addr - s.vaddr > s.filesz || n > s.filesz - (addr - s.vaddr)) continue;
    uint64_t off = s.offset + (addr - s.vaddr);
    if (off > raw_size || n > raw_size - off) return nullptr;
    return reinterpret_cast<const unsigned char *>(raw + off);
  }
  return nullptr;
}

std::string hex_bytes(const unsigned char *p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; i++) out += fmt::format("{}{:02x}", i ? " " : "", p[i]);
  return out;
}

struct Shape {
  uint64_t entry;
  int refusal;
  std::string layout;
};

Shape classify_x86(uint64_t literal, const unsigned char *w) {
  Shape s{literal + 8, SLED_SITE_OK, ""};
#if defined(__x86_64__)
  arch::SiteShape a = arch::classify_site(literal, w);
  s.entry = a.entry;
  s.refusal = a.refusal;
  const unsigned char *patch = w + 8 + (a.landing_pad ? 4 : 0);
  std::string form = patch[0] == 0x0f && patch[1] == 0x1f && patch[2] == 0x44 && patch[3] == 0
                         ? "nop5"
                     : a.needs_normalize ? "5 x nop1"
                                         : hex_bytes(patch, 5);
  s.layout = (a.landing_pad ? "endbr64 + " : "") + form;
#else
  (void)w;
  s.refusal = -1;  // not classified on this host
#endif
  return s;
}

Shape classify_a64(uint64_t literal, const unsigned char *w) {
  a64::Shape a = a64::classify(literal, w);
  Shape s{a.entry, a64::site_refusal(a.refusal), ""};
  const unsigned char *e = w + 8 + (a.bti ? 4 : 0);
  uint32_t first = a64::get32(e), second = a64::get32(e + 4);
  std::string form;
  if (first == a64::kNop && second == a64::kNop)
    form = "nop; nop";
  else if (first == a64::kMovX9X30 && second == a64::kNop)
    form = "mov x9, x30; nop";
  else
    form = fmt::format("{:08x} {:08x}", first, second);
  s.layout = (a.bti ? "bti c + " : "") + form;
  return s;
}

std::string basename_of(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

const char *refusal_name(int refusal) {
  switch (refusal) {
    case SLED_SITE_OK:
      return "ok";
    case SLED_SITE_BAD_BYTES:
      return "bad-bytes";
    case SLED_SITE_BAD_LITERAL:
      return "bad-literal";
    case SLED_SITE_MISALIGNED:
      return "misaligned";
    case SLED_SITE_UNSAFE_NOPS:
      return "unsafe-nops";
    case SLED_SITE_OUT_OF_SEGMENT:
      return "out-of-segment";
    case SLED_SITE_NO_STUB:
      return "no-stub";
    case SLED_SITE_TEXT_LOCKED:
      return "text-locked";
  }
  return "unknown";
}

int refusal_from_name(const std::string &name) {
  for (int r = SLED_SITE_BAD_BYTES; r <= SLED_SITE_TEXT_LOCKED; r++) {
    std::string n = refusal_name(r);
    for (char &c : n)
      if (c == '-') c = '_';
    if (n == name) return r;
  }
  return SLED_SITE_OK;
}

// The runtime's wording (src/core/api.cc), shortened where it explains.
const char *refusal_text(int refusal) {
  switch (refusal) {
    case SLED_SITE_BAD_BYTES:
      return "entry bytes are not a NOP form sled knows";
    case SLED_SITE_BAD_LITERAL:
      return "the 8 bytes before the entry are not NOPs (built without the ',8' / ',2' of "
             "-fpatchable-function-entry?)";
    case SLED_SITE_MISALIGNED:
      return "literal not 8-byte aligned (build with -falign-functions=16 / =8)";
    case SLED_SITE_UNSAFE_NOPS:
      return "GCC's one-byte NOPs could not be rewritten safely: threads were running";
    case SLED_SITE_OUT_OF_SEGMENT:
      return "not in executable text";
    case SLED_SITE_NO_STUB:
      return "no near stub within reach";
    case SLED_SITE_TEXT_LOCKED:
      return "its text could not be made writable (W^X policy)";
  }
  return "";
}

std::string read_file_sites(const std::string &path, ModuleSites *out) {
  out->path = path;
  out->name = basename_of(path);
  ElfFacts facts;
  int rc = 0;
  try {
    rc = read_elf_facts(path.c_str(), &facts);
  } catch (const std::bad_alloc &) {
    rc = -ENOMEM;
  }
  if (rc == -ENOEXEC) return path + ": not an ELF64 file";
  if (rc < 0) return path + ": " + std::strerror(-rc);
  if (facts.patch_sections.empty()) return "";
  ElfHandle h(path);
  GElf_Ehdr eh;
  size_t raw_size = 0;
  const char *raw = h.elf ? elf_rawfile(h.elf, &raw_size) : nullptr;
  if (!raw || !gelf_getehdr(h.elf, &eh)) return path + ": cannot read its ELF headers";
  bool x86 = eh.e_machine == EM_X86_64, a64 = eh.e_machine == EM_AARCH64;
#if !defined(__x86_64__)
  if (x86) return path + ": an x86_64 file: sled sites reads x86_64 programs on x86_64 only";
#endif
  if (!x86 && !a64) return path + ": neither x86_64 nor aarch64";
  std::vector<Segment> segs;
  size_t phnum = 0;
  if (elf_getphdrnum(h.elf, &phnum) == 0)
    for (size_t i = 0; i < phnum; i++) {
      GElf_Phdr ph;
      if (gelf_getphdr(h.elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) {
        if (segs.empty() || ph.p_vaddr < out->min_vaddr) out->min_vaddr = ph.p_vaddr;
        segs.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, (ph.p_flags & PF_X) != 0});
      }
    }
  // RELATIVE relocations: a PIE's or DSO's table may hold 0 in the file
  // (lld), the loader writing base + addend.
  std::map<uint64_t, uint64_t> relative;
  unsigned rel_type = x86 ? R_X86_64_RELATIVE : R_AARCH64_RELATIVE;
  for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(h.elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA) continue;
    Elf_Data *d = elf_getdata(scn, nullptr);
    size_t n = d && sh.sh_entsize ? d->d_size / sh.sh_entsize : 0;
    for (size_t i = 0; i < n; i++) {
      GElf_Rela r;
      if (gelf_getrela(d, static_cast<int>(i), &r) && GELF_R_TYPE(r.r_info) == rel_type)
        relative[r.r_offset] = static_cast<uint64_t>(r.r_addend);
    }
  }
  std::vector<uint64_t> literals;
  for (auto [addr, size] : facts.patch_sections) {
    const unsigned char *p = bytes_at(segs, raw, raw_size, addr, size, false);
    if (!p) continue;
    for (uint64_t off = 0; off + 8 <= size; off += 8) {
      uint64_t v;
      std::memcpy(&v, p + off, 8);
      if (auto it = relative.find(addr + off); it != relative.end()) v = it->second;
      literals.push_back(v);
    }
  }
  std::sort(literals.begin(), literals.end());
  literals.erase(std::unique(literals.begin(), literals.end()), literals.end());
  size_t window = x86 ? 17 : a64::kWindow;
  for (uint64_t literal : literals) {
    if (literal == 0) continue;  // a function the linker discarded
    SiteRow row;
    row.module = out->name;
    const unsigned char *w = bytes_at(segs, raw, raw_size, literal, window, true);
    Shape s{literal + 8, SLED_SITE_OUT_OF_SEGMENT, "?"};
    if (w) s = x86 ? classify_x86(literal, w) : classify_a64(literal, w);
    row.address = s.entry;
    row.refusal = s.refusal;
    row.layout = s.layout;
    row.state = s.refusal == SLED_SITE_OK ? "off" : "refused";
    auto symbol = [&](uint64_t value) -> std::string {
      auto f =
          std::lower_bound(facts.functions.begin(), facts.functions.end(), value,
                           [](const ElfFunctionSymbol &sym, uint64_t v) { return sym.value < v; });
      return f != facts.functions.end() && f->value == value
                 ? demangle(facts.names.data() + f->name)
                 : "";
    };
    row.function = symbol(s.entry);
    if (s.refusal == SLED_SITE_BAD_BYTES) {
      row.detail = fmt::format("found {}", row.layout);
      row.layout = "?";
      // The table names the entry itself: built without the NOPs sled
      // keeps its literal in (=N instead of =N,M).
      if (row.function.empty() && !(row.function = symbol(literal)).empty()) {
        row.address = literal;
        row.detail = x86 ? "no NOPs before the entry: built with -fpatchable-function-entry=N, "
                           "sled needs =13,8 -falign-functions=16"
                         : "no NOPs before the entry: built with -fpatchable-function-entry=N, "
                           "sled needs =4,2 -falign-functions=8";
      }
    }
    out->sites.push_back(std::move(row));
  }
  return "";
}

std::vector<std::string> needed_libraries(const std::string &path) {
  ElfHandle h(path);
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF) return {};
  GElf_Ehdr eh;
  if (!gelf_getehdr(h.elf, &eh)) return {};
  std::vector<std::string> needed, rpath, runpath;
  std::string origin = std::filesystem::path(path).parent_path().string();
  auto split = [&](const char *s, std::vector<std::string> *into) {
    std::string all = s;
    size_t pos = 0;
    while (pos <= all.size()) {
      size_t colon = all.find(':', pos);
      std::string dir =
          all.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
      for (const char *o : {"$ORIGIN", "${ORIGIN}"})
        if (size_t at = dir.find(o); at != std::string::npos)
          dir.replace(at, std::strlen(o), origin.empty() ? "." : origin);
      if (!dir.empty()) into->push_back(dir);
      if (colon == std::string::npos) break;
      pos = colon + 1;
    }
  };
  for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(h.elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC) continue;
    Elf_Data *d = elf_getdata(scn, nullptr);
    size_t n = d && sh.sh_entsize ? d->d_size / sh.sh_entsize : 0;
    for (size_t i = 0; i < n; i++) {
      GElf_Dyn dyn;
      if (!gelf_getdyn(d, static_cast<int>(i), &dyn)) continue;
      if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH) continue;
      const char *s = elf_strptr(h.elf, sh.sh_link, dyn.d_un.d_val);
      if (!s) continue;
      if (dyn.d_tag == DT_NEEDED) needed.push_back(s);
      if (dyn.d_tag == DT_RPATH) split(s, &rpath);
      if (dyn.d_tag == DT_RUNPATH) split(s, &runpath);
    }
  }
  std::vector<std::string> dirs;
  if (runpath.empty()) dirs = rpath;
  if (const char *llp = getenv("LD_LIBRARY_PATH")) split(llp, &dirs);
  dirs.insert(dirs.end(), runpath.begin(), runpath.end());
  std::string triple = eh.e_machine == EM_AARCH64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  for (const char *d : {"/lib/", "/usr/lib/"}) dirs.push_back(d + triple);
  for (const char *d : {"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"})
    dirs.push_back(d);
  std::vector<std::string> out;
  for (const std::string &lib : needed) {
    if (lib.find('/') != std::string::npos) {
      if (access(lib.c_str(), R_OK) == 0) out.push_back(lib);
      continue;
    }
    for (const std::string &dir : dirs)
      if (access((dir + "/" + lib).c_str(), R_OK) == 0) {
        out.push_back(dir + "/" + lib);
        break;
      }
  }
  return out;
}

bool has_sites(const std::string &path, std::string *why) {
  ElfFacts facts;
  try {
    if (read_elf_facts(path.c_str(), &facts) < 0) return true;  // not ELF: cannot judge
    if (!facts.patch_sections.empty()) return true;
    for (const std::string &lib : needed_libraries(path)) {
      ElfFacts l;
      if (read_elf_facts(lib.c_str(), &l) == 0 && !l.patch_sections.empty()) return true;
    }
  } catch (const std::bad_alloc &) {
    return true;
  }
  *why =
      "has no patchable functions (no __patchable_function_entries section, in it or in the "
      "libraries it needs)";
  return false;
}

void print_sites(const std::vector<ModuleSites> &modules) {
  size_t wm = 6, ws = 5, wl = 6;
  for (const ModuleSites &m : modules)
    for (const SiteRow &r : m.sites) {
      wm = std::max(wm, r.module.size());
      ws = std::max(ws, r.state.size());
      wl = std::max(wl, r.layout.size());
    }
  std::printf("%s\n", fmt::format("{:<{}}  {:>10}  {:<{}}  {:>3}  {:<{}}  {}", "MODULE", wm,
                                  "ADDRESS", "STATE", ws, "OPS", "LAYOUT", wl, "FUNCTION")
                          .c_str());
  for (const ModuleSites &m : modules)
    for (const SiteRow &r : m.sites) {
      std::string line = fmt::format("{:<{}}  {:>10}  {:<{}}  {:>3}  {:<{}}  {}", r.module, wm,
                                     fmt::format("{:#x}", r.address), r.state, ws,
                                     r.ops < 0 ? "-" : std::to_string(r.ops), r.layout, wl,
                                     r.function.empty() ? "?" : r.function);
      if (r.refusal != SLED_SITE_OK)
        line += fmt::format("  [{}: {}{}]", refusal_name(r.refusal), refusal_text(r.refusal),
                            r.detail.empty() ? "" : "; " + r.detail);
      std::printf("%s\n", line.c_str());
    }
}

void print_summary(const std::vector<ModuleSites> &modules) {
  size_t wm = 6;
  for (const ModuleSites &m : modules) wm = std::max(wm, m.name.size());
  std::printf("%s\n", fmt::format("{:<{}}  {:>7}  {:>9}  {:>7}  {:>6}  {}", "MODULE", wm, "SITES",
                                  "TRACEABLE", "REFUSED", "TRACED", "LAYOUTS")
                          .c_str());
  size_t total = 0, total_ok = 0, total_on = 0;
  bool live = false;
  std::map<std::string, size_t> total_refusals;
  for (const ModuleSites &m : modules) {
    size_t ok = 0, on = 0;
    bool module_live = false;
    std::map<std::string, size_t> layouts, refusals;
    for (const SiteRow &r : m.sites) {
      ok += r.refusal == SLED_SITE_OK;
      on += r.state == "on";
      module_live = module_live || r.ops >= 0;
      layouts[r.layout]++;
      if (r.refusal != SLED_SITE_OK) refusals[refusal_name(r.refusal)]++;
    }
    std::string lay;
    for (const auto &[l, n] : layouts)
      lay += fmt::format("{}{}: {}", lay.empty() ? "" : ", ", l, n);
    std::printf("%s\n",
                fmt::format("{:<{}}  {:>7}  {:>9}  {:>7}  {:>6}  {}", m.name, wm, m.sites.size(),
                            ok, m.sites.size() - ok, module_live ? std::to_string(on) : "-", lay)
                    .c_str());
    for (const auto &[why, n] : refusals) {
      std::printf("  refused %s: %zu\n", why.c_str(), n);
      total_refusals[why] += n;
    }
    total += m.sites.size();
    total_ok += ok;
    total_on += on;
    live = live || module_live;
  }
  if (modules.size() > 1)
    std::printf("%s\n",
                fmt::format("{:<{}}  {:>7}  {:>9}  {:>7}  {:>6}", "total", wm, total, total_ok,
                            total - total_ok, live ? std::to_string(total_on) : "-")
                    .c_str());
}

}  // namespace sled::cli
