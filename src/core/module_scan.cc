// Module discovery and site validation. GCC emits five 1-byte NOPs at the
// entry (x86); a thread may be stopped between two of them, so they are
// rewritten to one 5-byte NOP (aarch64: every entry NOP to `mov x9, x30`)
// only while no thread can be executing them. The caller decides
// (lifecycle.cc): the process has a single thread, or the module comes from
// the dlopen that judges it and no thread appeared while that dlopen ran
// its constructors. Elsewhere such sites are refused (UNSAFE_NOPS). Reads
// and writes module memory only pinned (module_identity.h).
#include "core/module_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "arch/arch.h"
#include "core/elf_reader.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/module_identity.h"
#include "core/namespaces.h"
#include "core/near_stub.h"
#include "core/patch_session.h"

namespace sled {
namespace {

std::string basename_of(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string main_program_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "main";
  buf[n] = '\0';
  return buf;
}

// The main program's file to read: /proc/self/exe (the mapped inode), but
// started as `ld.so ./prog` that is ld.so and the program's own path is
// taken from the mapping of its headers (mapped_file.cc).
std::string main_program_file(const void *phdr) {
  char path[PATH_MAX];
  if (started_through_loader(phdr) && sled::main_program_path(phdr, path, sizeof path)) return path;
  return "/proc/self/exe";
}

void collect_one(struct dl_phdr_info *info, std::vector<LoadedObject> *out);

// dl_iterate_phdr callback. Nothing unwinds through dl_iterate_phdr: it is
// C code holding the loader's lock (glibc 2.36 happens to release it when
// unwound; nothing promises that). An allocation failure stops the walk and
// is rethrown by list_loaded_objects, outside.
struct Collecting {
  std::vector<LoadedObject> *out;
  bool out_of_memory;
};
int collect(struct dl_phdr_info *info, size_t, void *arg) {
  auto *c = static_cast<Collecting *>(arg);
  try {
    collect_one(info, c->out);
    return 0;
  } catch (const std::exception &) {
    c->out_of_memory = true;
    return 1;
  }
}

void collect_one(struct dl_phdr_info *info, std::vector<LoadedObject> *out) {
  LoadedObject obj;
  std::string name = loader_string(info->dlpi_name);  // see module_identity.h
  bool is_main = name.empty();
  if (!is_main && name.find('/') == std::string::npos)
    return;  // the vDSO and other objects without a file
  obj.listed_name = name;
  obj.path = is_main ? main_program_file(info->dlpi_phdr) : name;
  obj.bias = info->dlpi_addr;
  obj.phdr_key = info->dlpi_phdr;
  long page = sysconf(_SC_PAGESIZE);
  int text_extra = arch::module_text_prot_bits(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_DYNAMIC) obj.dynamic = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type != PT_LOAD) continue;
    TextSegment seg;
    seg.lo = (info->dlpi_addr + ph.p_vaddr) & ~uintptr_t(page - 1);
    seg.hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~uintptr_t(page - 1);
    seg.prot = ((ph.p_flags & PF_R) ? PROT_READ : 0) | ((ph.p_flags & PF_W) ? PROT_WRITE : 0) |
               ((ph.p_flags & PF_X) ? PROT_EXEC : 0);
    if (ph.p_flags & PF_X) seg.prot |= text_extra;
    obj.readable.push_back(seg);
    if (ph.p_flags & PF_X) obj.text.push_back(seg);
  }
  out->push_back(std::move(obj));
}

// [lo, lo + len) lies in one segment; no sum that could wrap.
bool inside(const std::vector<TextSegment> &segs, uintptr_t lo, uintptr_t len) {
  for (const TextSegment &s : segs)
    if (lo >= s.lo && lo <= s.hi && len <= s.hi - lo) return true;
  return false;
}

// Names sites in address order: entries only grow, so a cursor over the
// sorted symbols replaces a search per site.
class SymbolCursor {
 public:
  SymbolCursor(const ElfFacts &elf, uintptr_t bias) : elf_(elf), bias_(elf.shared ? bias : 0) {}
  // The name of the function whose symbol value is `entry`, or "" if none.
  const char *at(uintptr_t entry) {
    uint64_t value = entry - bias_;
    const auto &f = elf_.functions;
    while (next_ < f.size() && f[next_].value < value) next_++;
    return next_ < f.size() && f[next_].value == value ? elf_.names.data() + f[next_].name : "";
  }

 private:
  const ElfFacts &elf_;
  uintptr_t bias_;
  size_t next_ = 0;
};

}  // namespace

namespace {
// Whether a user-mode emulator (qemu-user) runs this process: it fakes
// /proc/self/exe to name the guest program but not the per-task links,
// which name the emulator. qemu-user keeps one helper thread of its own
// (call_rcu) that never runs guest code, so it is not counted; should a
// future qemu have more, the process only looks multi-threaded (safe).
// Under emulation a thread runs whole translated blocks, old or new, so
// miscounting the other way cannot tear an instruction either.
int emulator_helper_threads() {
  static int helpers = [] {
    char self[PATH_MAX], task[PATH_MAX], path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/exe", static_cast<long>(syscall(SYS_gettid)));
    ssize_t a = readlink("/proc/self/exe", self, sizeof self - 1);
    ssize_t b = readlink(path, task, sizeof task - 1);
    if (a <= 0 || b <= 0) return 0;
    return (a != b || memcmp(self, task, static_cast<size_t>(a)) != 0) ? 1 : 0;
  }();
  return helpers;
}
}  // namespace

bool process_is_single_threaded() {
  DIR *d = opendir("/proc/self/task");
  if (!d) return false;
  int n = 0;
  while (struct dirent *e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - emulator_helper_threads() == 1;
}

std::vector<LoadedObject> list_loaded_objects(unsigned long long *adds, unsigned long long *subs) {
  std::vector<LoadedObject> out;
  Collecting collecting{&out, false};
  dl_iterate_phdr(collect, &collecting);
  for_each_object_of_other_namespaces(collect, &collecting);  // dlmopen
  if (collecting.out_of_memory) throw std::bad_alloc();       // core/oom.h
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t size, void *arg) {
        auto *counters = static_cast<unsigned long long **>(arg);
        if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          *counters[0] = info->dlpi_adds;
          *counters[1] = info->dlpi_subs;
        }
        return 1;
      },
      std::array<unsigned long long *, 2>{adds, subs}.data());
  for (LoadedObject &o : out)
    o.base_name = basename_of(o.path == "/proc/self/exe" ? main_program_path() : o.path);
  return out;
}

namespace {

// An open file, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Reads the ELF facts of the file open on fd through /proc/self/fd, so
// that the inode checked is the one read; by `path` when /proc is absent.
// libelf out of memory takes the standard library's path (the refresh is
// cut short and redone later; core/oom.h), not "no sites".
int read_elf_of(const Fd &f, const char *path, ElfFacts *elf) {
  char fd_path[32];
  snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", f.fd);
  int err = read_elf_facts(access(fd_path, R_OK) == 0 ? fd_path : path, elf);
  if (err == -ENOMEM) throw std::bad_alloc();
  return err;
}

// Reads the facts of the file the object is mapped from. A path replaced
// on disk since the object was loaded (a package upgrade renames a new file
// over it) names another inode than the mapping: the mapped one is then
// read through /proc/self/map_files when the kernel lets this process open
// it (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), and the object is refused
// otherwise. Names taken from the new file would trace the wrong functions.
bool read_mapped_elf(const LoadedObject &obj, ElfFacts *elf) {
  Fd file;
  file.fd = open(obj.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0 || read_elf_of(file, obj.path.c_str(), elf) != 0) return false;
  if (elf->patch_sections.empty() || obj.readable.empty()) return true;  // nothing to name
  Mapping m;
  // Unknown (no /proc, an anonymous first segment): read as before.
  if (!find_mapping(obj.readable.front().lo, &m) || m.inode == 0 || same_file(file.fd, m))
    return true;
  char mapped[64];
  snprintf(mapped, sizeof mapped, "/proc/self/map_files/%lx-%lx", static_cast<unsigned long>(m.lo),
           static_cast<unsigned long>(m.hi));
  Fd original;
  original.fd = open(mapped, O_RDONLY | O_CLOEXEC);
  if (original.fd >= 0 && same_file(original.fd, m)) {
    *elf = ElfFacts();
    if (read_elf_of(original, mapped, elf) == 0) return true;
  }
  set_last_error(
      "module %s: %s is no longer the file that was loaded (replaced on disk), and "
      "the loaded one cannot be read; its functions are not traced",
      obj.base_name.c_str(), obj.path.c_str());
  return false;
}

}  // namespace

std::unique_ptr<Module> build_module(const LoadedObject &obj, const ElfFacts &elf,
                                     bool may_normalize, std::vector<uintptr_t> *to_normalize,
                                     std::vector<size_t> *normalize_sites) {
  auto m = std::make_unique<Module>();
  m->path = obj.path == "/proc/self/exe" ? main_program_path() : obj.path;
  m->base_name = obj.base_name;
  m->bias = obj.bias;
  m->phdr_key = obj.phdr_key;
  m->id.phdr_key = obj.phdr_key;
  m->id.bias = obj.bias;
  m->id.dynamic = obj.dynamic;
  m->id.listed_name = obj.listed_name;
  m->text = obj.text;

  // The section's contents in memory are already relocated (PIE, DSOs).
  std::vector<uintptr_t> literals;
  for (auto [addr, size] : elf.patch_sections) {
    uintptr_t lo = (elf.shared ? obj.bias : 0) + addr;
    if (!inside(obj.readable, lo, size)) continue;
    const auto *p = reinterpret_cast<const uintptr_t *>(lo);
    literals.insert(literals.end(), p, p + size / sizeof(uintptr_t));
  }
  std::sort(literals.begin(), literals.end());
  literals.erase(std::unique(literals.begin(), literals.end()), literals.end());

  SymbolCursor symbols(elf, obj.bias);
  m->sites.reserve(literals.size());
  m->names.reserve(elf.names.size());
  for (uintptr_t literal : literals) {
    if (literal == 0) continue;  // discarded (garbage-collected) function
    Site s{};
    s.entry = literal + arch::kLiteralSize;
    if (!inside(obj.text, literal, arch::kSiteWindow)) {
      s.refusal = SLED_SITE_OUT_OF_SEGMENT;
    } else {
      arch::SiteShape shape =
          arch::classify_site(literal, reinterpret_cast<const uint8_t *>(literal));
      s.entry = shape.entry;
      s.refusal = static_cast<uint8_t>(shape.refusal);
      if (shape.landing_pad) s.flags |= kSiteLandingPad;
      if (shape.refusal == SLED_SITE_OK && shape.needs_normalize) {
        if (may_normalize) {
          to_normalize->push_back(shape.normalize_at);
          normalize_sites->push_back(m->sites.size());
        } else
          s.refusal = SLED_SITE_UNSAFE_NOPS;
      }
    }
    const char *name = symbols.at(s.entry);
    s.name = static_cast<uint32_t>(m->names.size());
    if (*name) {
      m->names.append(name);
    } else {
      char anon[64];
      snprintf(anon, sizeof anon, "%s+%#lx", obj.base_name.c_str(),
               static_cast<unsigned long>(s.entry - obj.bias));
      m->names.append(anon);
    }
    m->names.push_back('\0');
    m->sites.push_back(s);
  }
  if (m->sites.empty()) return nullptr;
  m->names.shrink_to_fit();  // metadata per site: 32-byte Site + the name
  return m;
}

namespace {
// The one-time rewrite of the sites build_module listed. Runs pinned.
void normalize(Module &m, const std::vector<uintptr_t> &to_normalize,
               const std::vector<size_t> &normalize_sites, sled_stats *stats) {
  PatchSession session;
  for (uintptr_t at : to_normalize) {
    const TextSegment *seg = m.segment_of(at);
    session.add(at, arch::kInsnSize, seg->prot);
  }
  if (session.open() != 0) {
    // The text could not be made writable (a W^X policy, most often): that
    // is the reason, not the NOPs.
    for (size_t i : normalize_sites) m.sites[i].refusal = SLED_SITE_TEXT_LOCKED;
    return;
  }
  uint8_t insn[arch::kInsnSize];
  arch::encode_normalized(insn);
  // The witness of this load: a fresh load of the file has the compiled
  // bytes there again (module_identity.h).
  static_assert(arch::kInsnSize <= sizeof m.id.witness_compiled);
  m.id.witness = to_normalize.front();
  m.id.witness_len = arch::kInsnSize;
  std::memcpy(m.id.witness_compiled, reinterpret_cast<const void *>(m.id.witness), arch::kInsnSize);
  for (uintptr_t at : to_normalize) arch::poke_quiet(at, insn, sizeof insn);
  session.close();  // retries page by page; a failure is in the last error
  stats->sites_normalized += to_normalize.size();
}
}  // namespace

std::unique_ptr<Module> scan_module(const LoadedObject &obj, bool may_normalize, sled_stats *stats,
                                    bool *gone) {
  *gone = false;
  ElfFacts elf;
  if (!read_mapped_elf(obj, &elf) || elf.patch_sections.empty()) return nullptr;

  // Everything read from (or written to) the module's memory happens
  // pinned: a dlclose sled does not see cannot unmap it meanwhile. The
  // identity checked is the one build_module will give the module.
  Module probe;
  probe.id.phdr_key = obj.phdr_key;
  probe.id.bias = obj.bias;
  probe.id.dynamic = obj.dynamic;
  probe.id.listed_name = obj.listed_name;
  Module *self[] = {&probe};
  std::unique_ptr<Module> m;
  bool out_of_memory = false;  // nothing unwinds through dl_iterate_phdr
  int pinned = with_modules_pinned(self, [&] {
    try {
      std::vector<uintptr_t> to_normalize;  // normalize_at of each, ascending
      std::vector<size_t> normalize_sites;  // their indices in m->sites
      m = build_module(obj, elf, may_normalize, &to_normalize, &normalize_sites);
      if (m && !to_normalize.empty()) normalize(*m, to_normalize, normalize_sites, stats);
    } catch (const std::exception &) {
      out_of_memory = true;
    }
    return 0;
  });
  if (out_of_memory) throw std::bad_alloc();  // core/oom.h
  if (pinned != 0) {
    *gone = true;
    return nullptr;
  }
  if (!m) return nullptr;

  uintptr_t lo = m->sites.front().entry, hi = m->sites.back().entry + arch::kPatchEndMax;
  m->reach_lo = lo;
  m->reach_hi = hi;
  m->call_target = near_call_target(lo, hi, arch::callops_trampoline());
  if (!m->call_target) {
    uint8_t why = near_failure() == -EACCES ? SLED_SITE_TEXT_LOCKED : SLED_SITE_NO_STUB;
    for (Site &s : m->sites)
      if (s.refusal == SLED_SITE_OK) s.refusal = why;
  }
  return m;
}

}  // namespace sled
