// Out of memory at the tracer API's C boundary (the idea of src/core/oom.h,
// for libsled-trace). The library is built with exceptions only so that an
// allocation failure thrown by the standard library (std::bad_alloc, or
// std::length_error past max_size) is caught where a sled_trace*/tracer/
// trigger call returns to its caller, instead of terminating the host:
//
//   int sled_x(...) try { ...body... } SLED_TRACE_CATCH(-ENOMEM)
//
// Nothing here throws on purpose. Never used on the hot path (callbacks
// allocate nothing).
#pragma once
#include <new>
#include <stdexcept>

#include "tracers/tracer.h"

#define SLED_TRACE_CATCH(value)                  \
  catch (const std::bad_alloc &) {               \
    ::sled::tracers::set_error("out of memory"); \
    return value;                                \
  }                                              \
  catch (const std::length_error &) {            \
    ::sled::tracers::set_error("out of memory"); \
    return value;                                \
  }
