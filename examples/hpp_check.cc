/* hpp_check.cc — compile-only check that sled.hpp stands on its own.
 *
 * Built as an object library with -Wall -Wextra -Werror -fno-exceptions:
 * the header must be the first include, need nothing else, and instantiate
 * cleanly for every callback shape it accepts. Nothing here is run. */
#include <atomic>
#include <sled/sled.hpp>
#include <type_traits>

namespace {

std::atomic<uintptr_t> seen{0};

auto full = [](uintptr_t ip, uintptr_t parent_ip, sled::Regs& regs) {
  seen += ip ^ parent_ip ^ regs.arg(0) ^ regs.arg<uintptr_t>(5) ^ regs.return_address() ^
          regs.stack_pointer() ^ regs.ip() ^ reinterpret_cast<uintptr_t>(regs.arg<const char*>(1));
};
auto two_args = [](uintptr_t ip, uintptr_t parent_ip) { seen += ip + parent_ip; };
auto ip_only = [](uintptr_t ip) { seen += ip; };

using FullOps = sled::Ops<decltype(full)>;
static_assert(!std::is_copy_constructible_v<FullOps> && !std::is_move_constructible_v<FullOps>);
static_assert(!std::is_copy_assignable_v<FullOps> && !std::is_move_assignable_v<FullOps>);
static_assert(sled::Callback<decltype(two_args)> && sled::Callback<decltype(ip_only)>);
static_assert(!sled::Callback<int>);
/* Callbacks run on many threads at once, so they are called as const. */
static_assert(!sled::Callback<decltype([n = 0](uintptr_t) mutable { ++n; })>);

}  // namespace

int sled_hpp_check() {
  sled::Ops a{full};
  sled::Ops b{two_args, sled::kRecursionSafe};
  sled::Ops c{ip_only};
  int rc = a.set_filter("parse*") | a.set_notrace("!x", false) | b.register_() | c.unregister();
  rc |= sled::set_strategy("callops");
  sled_site_info info{};
  rc |= sled::lookup_site(sled::ip_of(&sled_hpp_check), info);
  rc |= sled::for_each_site([](const sled_site_info& site) { return site.enabled; });
  rc |= sled::for_each_site([](const sled_site_info&) {});
  const sled_stats stats = sled::stats();
  return rc + int(stats.sites_found + sled::site_count() + sled::strategy().size()) +
         (sled::Error(rc).ok() ? 0 : *sled::Error(rc).message()) + *sled::last_error() +
         int(a.registered()) + int(c.native() != nullptr);
}
