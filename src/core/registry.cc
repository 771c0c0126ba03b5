// Registry bookkeeping: lookups of modules, sites and ops; list/nop ops.
#include "core/registry.h"

#include <cxxabi.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "arch/arch.h"
#include "core/direct.h"
#include "core/dispatch.h"
#include "core/patterns.h"
#include "core/thread_state.h"

namespace sled {

namespace {
constexpr uint32_t kListOpsMagic = 0x4c495354;  // "LIST"
void nop_func(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {}
}  // namespace

sled_ops g_nop_ops = {nop_func, nullptr, SLED_OPS_FL_RECURSION_SAFE, 0, {}};

ListOps *list_ops_create(const std::vector<sled_ops *> &members) {
  size_t bytes = sizeof(ListOps) + members.size() * sizeof(sled_ops *);
  auto *l = static_cast<ListOps *>(calloc(1, bytes));
  if (!l) return nullptr;
  l->base.func = list_ops_func;
  l->base.private_data = l;
  // The list calls each member under the member's own recursion rule.
  l->base.flags = SLED_OPS_FL_RECURSION_SAFE;
  l->base.internal_flags_ = kListOpsMagic;
  for (sled_ops *m : members)
    if (direct_of(m)) set_direct_of(&l->base, direct_of(m));
  l->count = static_cast<uint32_t>(members.size());
  std::copy(members.begin(), members.end(), l->members);
  return l;
}

bool is_list_ops(const sled_ops *ops) {
  return ops && ops->func == list_ops_func && ops->internal_flags_ == kListOpsMagic;
}

bool PatternSet::has_positive() const {
  return std::any_of(patterns.begin(), patterns.end(), [](const Pattern &p) { return !p.negate; });
}

uintptr_t Module::patch_of(const Site &s) const {
  return s.entry + arch::kPatchOffset + ((s.flags & kSiteLandingPad) ? 4 : 0);
}

const TextSegment *Module::segment_of(uintptr_t addr) const {
  for (const TextSegment &t : text)
    if (addr >= t.lo && addr < t.hi) return &t;
  return nullptr;
}

Site *Module::find(uintptr_t entry) {
  auto it = std::lower_bound(sites.begin(), sites.end(), entry,
                             [](const Site &s, uintptr_t e) { return s.entry < e; });
  return it != sites.end() && it->entry == entry ? &*it : nullptr;
}

void Module::ensure_demangled() {
  if (demangled_ready) return;
  demangled_pool.clear();  // from a build cut short by an allocation failure
  demangled.assign(sites.size(), ~0u);
  char *buf = nullptr;
  size_t len = 0;
  for (size_t i = 0; i < sites.size(); i++) {
    const char *mangled = name_of(sites[i]);
    if (strncmp(mangled, "_Z", 2) != 0) continue;
    int status = 0;
    char *out = abi::__cxa_demangle(mangled, buf, &len, &status);
    if (status != 0 || !out) continue;
    buf = out;
    demangled[i] = static_cast<uint32_t>(demangled_pool.size());
    demangled_pool.append(out).push_back('\0');
  }
  free(buf);
  demangled_ready = true;
}

std::string_view Module::demangled_of(size_t i) const {
  if (!demangled_ready || demangled[i] == ~0u) return {};
  return demangled_pool.data() + demangled[i];
}

void Module::ensure_index() {
  if (index_ready) return;
  ensure_demangled();
  name_index.clear();  // from a build cut short by an allocation failure
  name_index.reserve(sites.size() * 2);
  for (size_t i = 0; i < sites.size(); i++) {
    auto idx = static_cast<uint32_t>(i);
    name_index.emplace(std::string_view(name_of(sites[i])), idx);
    std::string_view d = demangled_of(i);
    if (d.empty()) continue;
    name_index.emplace(d, idx);
    std::string_view bare = bare_function_name(d);
    if (bare != d) name_index.emplace(bare, idx);
  }
  index_ready = true;
}

namespace {
// The cookie sled keeps in an ops' private area (sled_ops::internal_[0]).
uintptr_t cookie_of(const sled_ops *o) { return reinterpret_cast<uintptr_t>(o->internal_[0]); }
}  // namespace

OpsState *Registry::find_ops(const sled_ops *o) {
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    OpsState *s = it->get();
    if (s->ops != o) continue;
    // Not registered and the cookie differs: the memory now holds a new
    // (zero-initialised) ops; the old one's filters died with it. A
    // registered ops' storage must stay valid, so its address suffices.
    if (!s->registered && cookie_of(o) != s->cookie && !s->ips) {
      ops.erase(it);
      return nullptr;
    }
    return s;
  }
  return nullptr;
}

OpsState *Registry::find_or_create_ops(sled_ops *o) {
  if (OpsState *s = find_ops(o)) return s;
  auto s = std::make_unique<OpsState>();
  s->ops = o;
  s->cookie = ++last_cookie;
  o->internal_[0] = reinterpret_cast<void *>(s->cookie);
  ops.push_back(std::move(s));
  return ops.back().get();
}

Module *Registry::module_of(const Site *site) {
  for (auto &m : modules)
    if (site >= m->sites.data() && site < m->sites.data() + m->sites.size()) return m.get();
  return nullptr;
}

Site *Registry::site_at(uintptr_t entry, Module **module_out) {
  // By module, not by segment: refused sites may lie outside the text.
  for (auto &m : modules)
    if (Site *s = m->find(entry)) {
      if (module_out) *module_out = m.get();
      return s;
    }
  if (module_out) *module_out = nullptr;
  return nullptr;
}

namespace {
Registry *g_registry;

void init_lock(pthread_mutex_t *lock) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(lock, &attr);
  pthread_mutexattr_destroy(&attr);
}

// fork: hold the lock across it so the child never inherits a half-done
// batch; the child gets a fresh lock (its only thread owns nothing). From
// inside a callback the lock is only tried: its holder may be waiting for
// this callback's grace period. A child forked without the lock may hold
// another thread's half-done change: sled refuses every call there
// (-ENOTRECOVERABLE); the callbacks already in place keep running.
// Thread-local: the forking thread runs all three handlers.
__thread bool t_fork_locked;
void before_fork() {
  if (in_sled_callback())
    t_fork_locked = pthread_mutex_trylock(&g_registry->lock) == 0;
  else
    t_fork_locked = pthread_mutex_lock(&g_registry->lock) == 0;
}
void after_fork_parent() {
  if (t_fork_locked) pthread_mutex_unlock(&g_registry->lock);
}
void after_fork_child() {
  init_lock(&g_registry->lock);
  if (t_fork_locked) return;
  g_registry->initialized = true;
  g_registry->init_error = -ENOTRECOVERABLE;
  g_registry->killed = true;
}
}  // namespace

Registry &registry() {
  static Registry *r = [] {
    // Never destroyed: atexit order must not matter. Static storage, not
    // the heap: the first thing sled does must not be able to fail for
    // want of memory (there may not even be memory to throw bad_alloc).
    alignas(Registry) static unsigned char storage[sizeof(Registry)];
    g_registry = new (storage) Registry();
    init_lock(&g_registry->lock);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return g_registry;
  }();
  return *r;
}

}  // namespace sled
