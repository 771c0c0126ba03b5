/* sled — C++20 layer over the public C API (sled.h), header-only.
 *
 * Owns nothing but convenience: sled::Ops (an RAII ops whose callback is any
 * const-callable object), sled::Regs (a view over sled_regs), sled::Error,
 * and thin free functions. It adds no state to sled and needs no exceptions:
 * every fallible call returns sled's int code ([[nodiscard]]); wrap it in
 * sled::Error for a message. Compiles on its own with -std=c++20.
 *
 * Everything here that runs inside a callback is SLED_NOTRACE, so including
 * this header in an instrumented translation unit never traces sled's own
 * glue (the user's callback itself is the user's business).
 */
#ifndef SLED_SLED_HPP
#define SLED_SLED_HPP

#include <sled/sled.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace sled {

inline constexpr uint32_t kRecursionSafe = SLED_OPS_FL_RECURSION_SAFE;
inline constexpr uint32_t kIpModify = SLED_OPS_FL_IPMODIFY;

/* A sled return code with its text: Error(rc).message(). */
class Error {
 public:
  constexpr Error(int code = 0) noexcept : code_(code) {}
  constexpr int code() const noexcept { return code_; }
  constexpr bool ok() const noexcept { return code_ >= 0; }
  const char* message() const noexcept { return sled_strerror(code_); }

 private:
  int code_;
};

/* The detail of this thread's most recent failure (function, bytes found). */
inline const char* last_error() noexcept { return sled_last_error(); }

/* A function's entry address, as callbacks receive it in `ip`. */
template <class R, class... Args>
inline uintptr_t ip_of(R (*fn)(Args...)) noexcept {
  return reinterpret_cast<uintptr_t>(fn);
}

/* View of the traced function's registers; valid during the callback only. */
class Regs {
 public:
  SLED_NOTRACE explicit Regs(sled_regs* regs) noexcept : regs_(regs) {}

  /* Integer or pointer argument n (0-based, n < 6): regs.arg(0),
   * regs.arg<const char*>(1). */
  template <class T = uintptr_t>
  SLED_NOTRACE T arg(unsigned n) const noexcept {
    static_assert(std::is_integral_v<T> || std::is_pointer_v<T> || std::is_enum_v<T>,
                  "sled::Regs::arg<T>: T must be an integer, enum or pointer type");
    const uintptr_t raw = sled_regs_arg(regs_, n);
    if constexpr (std::is_pointer_v<T>) {
      return reinterpret_cast<T>(raw);
    } else {
      return static_cast<T>(raw);
    }
  }
  SLED_NOTRACE uintptr_t return_address() const noexcept { return sled_regs_return_address(regs_); }
  SLED_NOTRACE uintptr_t stack_pointer() const noexcept { return sled_regs_stack_pointer(regs_); }
  SLED_NOTRACE uintptr_t ip() const noexcept { return sled_regs_ip(regs_); }
  /* Only for ops built with kIpModify: continue at new_ip instead. */
  [[nodiscard]] SLED_NOTRACE int set_ip(uintptr_t new_ip) noexcept {
    return sled_regs_set_ip(regs_, new_ip);
  }
  SLED_NOTRACE sled_regs* native() const noexcept { return regs_; }

 private:
  sled_regs* regs_;
};

/* What sled::Ops accepts as a callback, called as a const object (it runs
 * on many threads at once: keep its state in atomics or per thread):
 *   (uintptr_t ip, uintptr_t parent_ip, sled::Regs& regs)
 *   (uintptr_t ip, uintptr_t parent_ip)
 *   (uintptr_t ip)                                                        */
template <class F>
concept Callback = std::is_invocable_v<const F&, uintptr_t, uintptr_t, Regs&> ||
    std::is_invocable_v<const F&, uintptr_t, uintptr_t> || std::is_invocable_v<const F&, uintptr_t>;

/* One registered client. Its address is its identity inside sled, so it is
 * neither copyable nor movable: declare it where it lives, e.g.
 *   sled::Ops counter{[&](uintptr_t ip, uintptr_t, sled::Regs&) { ... }};
 *   if (int rc = counter.set_filter("parse*"); rc < 0) ...
 *   if (int rc = counter.register_(); rc < 0) ...
 * The destructor unregisters (and so waits for a grace period); it must not
 * run inside a callback, where sled refuses to unregister (-EDEADLK) and the
 * storage would go while registered. Control an Ops from one thread at a
 * time; its callback may run on any thread. */
template <Callback F>
class Ops {
 public:
  explicit Ops(F callback, uint32_t flags = 0) noexcept(std::is_nothrow_move_constructible_v<F>)
      : callback_(static_cast<F&&>(callback)) {
    ops_.func = &Ops::thunk;
    ops_.private_data = this;
    ops_.flags = flags;
  }
  Ops(const Ops&) = delete;
  Ops& operator=(const Ops&) = delete;
  ~Ops() {
    if (registered_) (void)sled_unregister_ops(&ops_);
  }

  [[nodiscard]] int register_() noexcept {
    const int rc = sled_register_ops(&ops_);
    if (rc == 0) registered_ = true;
    return rc;
  }
  /* Returns after a grace period: the callback no longer runs anywhere. */
  [[nodiscard]] int unregister() noexcept {
    const int rc = sled_unregister_ops(&ops_);
    if (rc == 0) registered_ = false;
    return rc;
  }
  /* ftrace-style patterns (see sled.h); live when it returns. */
  [[nodiscard]] int set_filter(std::string_view patterns, bool reset = true) {
    return sled_set_filter(&ops_, std::string(patterns).c_str(), reset ? 1 : 0);
  }
  [[nodiscard]] int set_notrace(std::string_view patterns, bool reset = true) {
    return sled_set_notrace(&ops_, std::string(patterns).c_str(), reset ? 1 : 0);
  }

  bool registered() const noexcept { return registered_; }
  const F& callback() const noexcept { return callback_; }
  sled_ops* native() noexcept { return &ops_; }
  const sled_ops* native() const noexcept { return &ops_; }

 private:
  SLED_NOTRACE static void thunk(uintptr_t ip, uintptr_t parent_ip, sled_ops* ops,
                                 sled_regs* regs) noexcept {
    const F& callback = static_cast<const Ops*>(ops->private_data)->callback_;
    if constexpr (std::is_invocable_v<const F&, uintptr_t, uintptr_t, Regs&>) {
      Regs view(regs);
      callback(ip, parent_ip, view);
    } else if constexpr (std::is_invocable_v<const F&, uintptr_t, uintptr_t>) {
      callback(ip, parent_ip);
    } else {
      callback(ip);
    }
  }

  sled_ops ops_{};
  bool registered_ = false;
  F callback_;
};

template <class F>
Ops(F) -> Ops<F>;
template <class F>
Ops(F, uint32_t) -> Ops<F>;

/* Process-wide figures (all zero if sled could not report them). */
inline sled_stats stats() noexcept {
  sled_stats out{};
  if (sled_get_stats(&out) < 0) out = sled_stats{};
  return out;
}

inline size_t site_count() noexcept { return sled_site_count(); }

[[nodiscard]] inline int set_strategy(std::string_view name) {
  return sled_set_strategy(std::string(name).c_str());
}
inline std::string_view strategy() noexcept {
  const char* name = sled_get_strategy();
  return name ? std::string_view(name) : std::string_view();
}

/* The site whose function starts at ip: 0, or -ENOENT. */
[[nodiscard]] inline int lookup_site(uintptr_t ip, sled_site_info& out) noexcept {
  return sled_site_lookup(ip, &out);
}

/* Calls fn(const sled_site_info&) for every site, under sled's lock (fn must
 * not call sled). fn may return void (visit all) or a value convertible to
 * int: non-zero stops the walk and is returned. */
template <class F>
requires std::is_invocable_v<F&, const sled_site_info&>
int for_each_site(F&& fn) {
  auto visit = [](const sled_site_info* info, void* arg) -> int {
    F& f = *static_cast<std::remove_reference_t<F>*>(arg);
    if constexpr (std::is_void_v<std::invoke_result_t<F&, const sled_site_info&>>) {
      f(*info);
      return 0;
    } else {
      return static_cast<int>(f(*info));
    }
  };
  auto* target = const_cast<std::remove_cvref_t<F>*>(&fn);
  return sled_for_each_site(visit, static_cast<void*>(target));
}

}  // namespace sled

#endif /* SLED_SLED_HPP */
