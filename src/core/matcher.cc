// Pattern evaluation. Exact names (no '*' or '?') are looked up in a
// per-module hash index instead of scanning every site, so changing the
// filter of one function costs the same with 100 or 100,000 sites.
#include "core/matcher.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "core/glob.h"

namespace sled {
namespace {

bool name_matches(Module &m, size_t i, const std::string &glob) {
  if (glob_match(glob, m.name_of(m.sites[i]))) return true;
  std::string_view d = m.demangled_of(i);
  if (d.empty()) return false;
  return glob_match(glob, d) || glob_match(glob, bare_function_name(d));
}

// "prefix*" (one '*', at the end): the common form of a pattern that
// selects many functions, matched without the general glob (no strlen).
bool prefix_matches(Module &m, size_t i, std::string_view prefix) {
  if (std::strncmp(m.name_of(m.sites[i]), prefix.data(), prefix.size()) == 0) return true;
  std::string_view d = m.demangled_of(i);
  if (d.empty()) return false;
  return d.starts_with(prefix) || bare_function_name(d).starts_with(prefix);
}

void match_in_module(Module &m, const Pattern &p, SiteSet *out) {
  if (!p.module.empty() && !glob_match(p.module, m.base_name)) return;
  if (!has_glob(p.name)) {
    m.ensure_index();
    auto [lo, hi] = m.name_index.equal_range(p.name);
    for (auto it = lo; it != hi; ++it) out->push_back(&m.sites[it->second]);
    return;
  }
  m.ensure_demangled();
  std::string_view name = p.name;
  if (name.find_first_of("*?") == name.size() - 1 && name.back() == '*') {
    std::string_view prefix = name.substr(0, name.size() - 1);
    for (size_t i = 0; i < m.sites.size(); i++)
      if (prefix_matches(m, i, prefix)) out->push_back(&m.sites[i]);
    return;
  }
  for (size_t i = 0; i < m.sites.size(); i++)
    if (name_matches(m, i, p.name)) out->push_back(&m.sites[i]);
}

void normalize(SiteSet *s) {
  if (!std::is_sorted(s->begin(), s->end())) std::sort(s->begin(), s->end());
  s->erase(std::unique(s->begin(), s->end()), s->end());
}

SiteSet apply_patterns(std::span<Module *const> modules, const PatternSet &set, SiteSet base) {
  for (const Pattern &p : set.patterns) {
    SiteSet hits = match_pattern(modules, p);
    if (!p.negate && base.empty())
      base = std::move(hits);  // the usual first pattern: no copy
    else
      base = p.negate ? set_difference(base, hits) : set_union(base, hits);
  }
  return base;
}

}  // namespace

SiteSet set_union(const SiteSet &a, const SiteSet &b) {
  SiteSet out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

SiteSet set_difference(const SiteSet &a, const SiteSet &b) {
  SiteSet out;
  out.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

SiteSet match_pattern(std::span<Module *const> modules, const Pattern &p) {
  SiteSet out;
  for (Module *m : modules) match_in_module(*m, p, &out);
  normalize(&out);
  return out;
}

std::vector<Module *> all_modules(Registry &r) {
  std::vector<Module *> out;
  for (auto &m : r.modules) out.push_back(m.get());
  return out;
}

SiteSet traced_sites(std::span<Module *const> modules, const OpsState &st) {
  SiteSet base;
  if (!st.filter.has_positive()) {
    for (Module *m : modules)
      for (Site &s : m->sites) base.push_back(&s);
    normalize(&base);
  }
  SiteSet selected = apply_patterns(modules, st.filter, std::move(base));
  if (!st.notrace.patterns.empty())
    selected = set_difference(selected, apply_patterns(modules, st.notrace, {}));
  std::erase_if(selected, [](const Site *s) { return s->refusal != SLED_SITE_OK; });
  return selected;
}

}  // namespace sled
