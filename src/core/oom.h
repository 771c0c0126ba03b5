// Out of memory at the C boundary. libsled is built with exceptions only so
// that an allocation failure (std::bad_alloc, or std::length_error from a
// size past max_size) thrown by the standard library can be caught where
// sled returns to its caller, instead of terminating the host program.
// Each C entry point is a function-try-block:
//
//   int sled_x(...) try { ...body... } SLED_CATCH_OOM(-ENOMEM)
//
// The body's RAII locals (the registry lock above all) are released by the
// unwinding before the handler runs. Keeping the state consistent is each
// operation's job: its allocations happen before its first change, or are
// caught inside it and rolled back (update.cc). Never used on the hot path.
// sled throws one thing itself: std::bad_alloc when libelf ran out of
// memory (module_scan.cc), so that both kinds take the same path.
#pragma once
#include <new>
#include <stdexcept>

#include "core/error.h"

namespace sled {
template <class T>
T out_of_memory(T value) {
  set_last_error("out of memory");
  return value;
}
}  // namespace sled

#define SLED_CATCH_OOM(value)            \
  catch (const std::bad_alloc &) {       \
    return ::sled::out_of_memory(value); \
  }                                      \
  catch (const std::length_error &) {    \
    return ::sled::out_of_memory(value); \
  }
