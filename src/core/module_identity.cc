// Module identity checks and pinned execution (see module_identity.h).
// Reads module text only while pinned; writes nothing.
#include "core/module_identity.h"

#include <link.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>

#include "arch/arch.h"
#include "core/namespaces.h"

namespace sled {
namespace {

struct Listed {
  const void *phdr;
  uintptr_t bias;
  uintptr_t dynamic;
  const char *name;  // valid while pinned
};

uintptr_t dynamic_of(const struct dl_phdr_info *info) {
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      return info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
  return 0;
}

// Every object the loader lists now, in every namespace sled traces; call
// pinned (the names stay valid).
std::vector<Listed> list_pinned() {
  struct Listing {
    std::vector<Listed> out;
    bool out_of_memory = false;
  } l;
  // Out of memory stops the walk; thrown outside it (nothing unwinds
  // through dl_iterate_phdr).
  auto add = [](struct dl_phdr_info *info, size_t, void *arg) {
    auto *l = static_cast<Listing *>(arg);
    try {
      l->out.push_back(Listed{info->dlpi_phdr, info->dlpi_addr, dynamic_of(info),
                              info->dlpi_name ? info->dlpi_name : ""});
      return 0;
    } catch (const std::exception &) {
      l->out_of_memory = true;
      return 1;
    }
  };
  dl_iterate_phdr(add, &l);
  if (!l.out_of_memory) for_each_object_of_other_namespaces(add, &l);  // dlmopen
  if (l.out_of_memory) throw std::bad_alloc();
  return std::move(l.out);
}

// The witness still holds sled's bytes: a fresh load of the file would
// have its compiled bytes there. Call pinned.
bool witness_holds(const LoadIdentity &id) {
  if (id.witness_len == 0) return true;  // nothing written: any load is alike
  const auto *p = reinterpret_cast<const volatile uint8_t *>(id.witness);
  for (unsigned i = 0; i < id.witness_len; i++)
    if (p[i] != id.witness_compiled[i]) return true;
  return false;
}

bool is_loaded(const LoadIdentity &id, const std::vector<Listed> &listed) {
  for (const Listed &l : listed)
    if (l.phdr == id.phdr_key && l.bias == id.bias && l.dynamic == id.dynamic &&
        loader_string_equals(id.listed_name, l.name))
      return witness_holds(id);
  return false;
}

// Runs fn(arg) from inside a dl_iterate_phdr callback (the first object's),
// so that the loader cannot unmap anything until it returns.
// Nothing unwinds through dl_iterate_phdr (C code holding the loader's
// lock): an exception of fn is caught inside and rethrown here, outside.
template <class Fn>
void run_pinned(Fn &&fn) {
  struct Call {
    Fn *fn;
    std::exception_ptr error;
  } call{&fn, nullptr};
  dl_iterate_phdr(
      [](struct dl_phdr_info *, size_t, void *arg) {
        auto *c = static_cast<Call *>(arg);
        try {
          (*c->fn)();
        } catch (...) {
          c->error = std::current_exception();
        }
        return 1;  // once
      },
      &call);
  if (call.error) std::rethrow_exception(call.error);
}

}  // namespace

// Volatile byte reads: the compiler must not turn the loops into calls of
// strlen or memcmp, which sanitizers intercept.
__attribute__((no_sanitize("thread"))) std::string loader_string(const char *s) {
  if (!s) return {};
  const volatile char *p = s;
  size_t n = 0;
  while (p[n]) n++;
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i++) out[i] = p[i];
  return out;
}

__attribute__((no_sanitize("thread"))) bool loader_string_equals(const std::string &ours,
                                                                 const char *s) {
  const volatile char *p = s ? s : "";
  size_t i = 0;
  for (; i < ours.size(); i++)
    if (p[i] != ours[i]) return false;
  return p[i] == '\0';
}

__attribute__((no_sanitize("thread"))) void handle_place(const void *handle, uintptr_t *bias,
                                                         uintptr_t *dynamic) {
  const volatile struct link_map *lm = static_cast<const struct link_map *>(handle);
  *bias = lm->l_addr;
  *dynamic = reinterpret_cast<uintptr_t>(lm->l_ld);
}

bool same_place(const LoadIdentity &id, const LoadedObject &o) {
  return id.phdr_key == o.phdr_key && id.bias == o.bias && id.dynamic == o.dynamic &&
         id.listed_name == o.listed_name;
}

void note_first_write(Module &m, uintptr_t literal) {
  if (m.id.witness_len) return;
  static_assert(sizeof arch::kCompiledLiteral == sizeof m.id.witness_compiled);
  m.id.witness = literal;
  m.id.witness_len = sizeof arch::kCompiledLiteral;
  std::memcpy(m.id.witness_compiled, &arch::kCompiledLiteral, sizeof arch::kCompiledLiteral);
}

std::vector<char> still_loaded(std::span<Module *const> mods) {
  std::vector<char> out(mods.size(), 0);
  run_pinned([&] {
    std::vector<Listed> listed = list_pinned();
    for (size_t i = 0; i < mods.size(); i++) out[i] = is_loaded(mods[i]->id, listed);
  });
  return out;
}

int detail::pinned_call(std::span<Module *const> mods, int (*fn)(void *), void *arg) {
  int rc = -ESTALE;
  run_pinned([&] {
    std::vector<Listed> listed = list_pinned();
    for (Module *m : mods)
      if (!is_loaded(m->id, listed)) return;
    rc = fn(arg);
  });
  return rc;
}

}  // namespace sled
