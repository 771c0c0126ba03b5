// Which sites a pattern or a pattern set selects. Sets are sorted vectors
// of Site pointers; refused sites are never selected for tracing.
#pragma once
#include <span>
#include <vector>

#include "core/patterns.h"
#include "core/registry.h"

namespace sled {

using SiteSet = std::vector<Site *>;  // sorted by pointer

// Sites of `modules` that `p` names, refused ones included.
SiteSet match_pattern(std::span<Module *const> modules, const Pattern &p);
// The sites an ops traces within `modules`: its filter (every site when the
// filter has no positive pattern) minus its notrace set, refused ones excluded.
SiteSet traced_sites(std::span<Module *const> modules, const OpsState &st);
// Every module of the registry, as a span-able list.
std::vector<Module *> all_modules(Registry &r);

SiteSet set_union(const SiteSet &a, const SiteSet &b);
SiteSet set_difference(const SiteSet &a, const SiteSet &b);

}  // namespace sled
