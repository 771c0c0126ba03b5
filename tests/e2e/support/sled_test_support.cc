// sled_test_support.cc — implementation of the e2e test helpers (see the
// header). Reads code bytes and /proc/self/maps; never writes text.
#include "sled_test_support.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace sled_test {

Tracer::Tracer(uint32_t flags) {
  ops_.func = &Tracer::Callback;
  ops_.private_data = this;
  ops_.flags = flags;
}

Tracer::~Tracer() { sled_unregister_ops(&ops_); }

void Tracer::Callback(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  auto *self = static_cast<Tracer *>(ops->private_data);
  Hit hit;
  hit.ip = ip;
  hit.parent_ip = parent_ip;
  hit.regs_ip = sled_regs_ip(regs);
  hit.regs_return = sled_regs_return_address(regs);
  hit.word_at_sp = *reinterpret_cast<const uintptr_t *>(sled_regs_stack_pointer(regs));
  for (unsigned n = 0; n < 6; n++) hit.args[n] = sled_regs_arg(regs, n);
  hit.ops = ops;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->hits_.push_back(hit);
  }
  if (self->hook_) self->hook_(*self, hit, regs);
}

size_t Tracer::Count(uintptr_t ip) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const Hit &h : hits_) n += h.ip == ip;
  return n;
}

size_t Tracer::Total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_.size();
}

std::vector<Hit> Tracer::Hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

void Tracer::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  hits_.clear();
}

namespace {
uint32_t Word(const uint8_t *p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
}  // namespace

#if defined(__aarch64__)
bool HasLandingPad(uintptr_t ip) {
  return Word(reinterpret_cast<const uint8_t *>(ip)) == 0xd503245f;
}

const uint8_t *PatchBytes(uintptr_t ip) {
  // entry+0 is `mov x9, x30`; the patch slot follows.
  return reinterpret_cast<const uint8_t *>(ip + 4 + (HasLandingPad(ip) ? 4 : 0));
}

bool IsSiteNop(const uint8_t *p) { return Word(p) == 0xd503201f; }

uintptr_t SiteCallTarget(const uint8_t *p) {
  uint32_t w = Word(p);
  if ((w & 0xfc000000u) != 0x94000000u) return 0;  // bl imm26
  int64_t imm = w & 0x03ffffff;
  if (imm & 0x02000000) imm -= 0x04000000;
  return reinterpret_cast<uintptr_t>(p) + uintptr_t(imm * 4);
}

uintptr_t CallTargetBefore(uintptr_t return_address) {
  return SiteCallTarget(reinterpret_cast<const uint8_t *>(return_address - 4));
}
#else
bool HasLandingPad(uintptr_t ip) {
  static const uint8_t endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
  return std::memcmp(reinterpret_cast<const void *>(ip), endbr64, 4) == 0;
}

const uint8_t *PatchBytes(uintptr_t ip) {
  return reinterpret_cast<const uint8_t *>(ip + (HasLandingPad(ip) ? 4 : 0));
}

bool IsSiteNop(const uint8_t *p) {
  return p[0] == 0x0f && p[1] == 0x1f && p[2] == 0x44 && p[3] == 0x00;
}

uintptr_t SiteCallTarget(const uint8_t *p) {
  if (p[0] != 0xe8) return 0;  // call rel32
  int32_t rel;
  std::memcpy(&rel, p + 1, sizeof rel);
  return reinterpret_cast<uintptr_t>(p) + 5 + uintptr_t(intptr_t(rel));
}

uintptr_t CallTargetBefore(uintptr_t return_address) {
  return SiteCallTarget(reinterpret_cast<const uint8_t *>(return_address - 5));
}
#endif

bool IsSiteCall(const uint8_t *p) { return SiteCallTarget(p) != 0; }

uintptr_t NearStubTarget(uintptr_t at) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(at);
#if defined(__aarch64__)
  const uint32_t ldr_x16_8 = 0x58000050, br_x16 = 0xd61f0200;
  if (Word(p) != ldr_x16_8 || Word(p + 4) != br_x16) return 0;
  const size_t literal = 8;
#else
  static const uint8_t jmp_rip[6] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};
  if (std::memcmp(p, jmp_rip, sizeof jmp_rip) != 0) return 0;
  const size_t literal = sizeof jmp_rip;
#endif
  uintptr_t target;
  std::memcpy(&target, p + literal, sizeof target);
  return target;
}

bool DirectCallReaches(uintptr_t from, uintptr_t to) {
#if defined(__aarch64__)
  const int64_t reach = int64_t{1} << 27;
#else
  const int64_t reach = int64_t{1} << 31;
#endif
  const int64_t d = static_cast<int64_t>(to - from);
  return d > -reach && d < reach;
}

std::string ModuleOf(uintptr_t addr) {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void *>(addr), &info) || !info.dli_fname) return "";
  const char *slash = std::strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

const sled_ops *LiteralAt(uintptr_t ip) {
  const sled_ops *ops;
  std::memcpy(&ops, reinterpret_cast<const void *>(ip - 8), sizeof ops);
  return ops;
}

sled_site_info SiteInfo(uintptr_t ip) {
  sled_site_info info{};
  int rc = sled_site_lookup(ip, &info);
  EXPECT_EQ(rc, 0) << "no site at " << reinterpret_cast<void *>(ip);
  return info;
}

sled_stats Stats() {
  sled_stats stats{};
  EXPECT_EQ(sled_get_stats(&stats), 0);
  return stats;
}

std::set<std::string> TracedSiteNames() {
  std::set<std::string> names;
  sled_for_each_site(
      [](const sled_site_info *info, void *arg) {
        if (info->nr_ops > 0 && info->name)
          static_cast<std::set<std::string> *>(arg)->insert(info->name);
        return 0;
      },
      &names);
  return names;
}

std::string WritableExecutableMapping() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode path": perms is "rwxp"-like.
    size_t space = line.find(' ');
    if (space == std::string::npos || line.size() < space + 5) continue;
    if (line[space + 2] == 'w' && line[space + 3] == 'x') return line;
  }
  return "";
}

std::string ExeBasename() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  path[n] = 0;
  const char *slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

uintptr_t LibrarySymbol(const char *library, const char *symbol) {
  // A handle's dlsym searches the library and its dependencies, not the
  // executable, so it returns the library's own definition.
  void *handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return 0;
  void *address = dlsym(handle, symbol);
  dlclose(handle);
  return reinterpret_cast<uintptr_t>(address);
}

}  // namespace sled_test
