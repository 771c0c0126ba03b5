// The calling thread's last failure message of the tracer API (tracer.h's
// set_error / last_error). A fixed thread-local buffer: no allocation, no
// thread-exit destructor, usable from any thread at any time.
#include <cstring>

#include "tracers/tracer.h"

namespace sled::tracers {
namespace {
thread_local char t_message[512];
}

void set_error(const std::string &message) {
  size_t n = message.size() < sizeof t_message - 1 ? message.size() : sizeof t_message - 1;
  memcpy(t_message, message.data(), n);
  t_message[n] = '\0';
}

const char *last_error() { return t_message; }

}  // namespace sled::tracers
