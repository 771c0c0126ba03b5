// Error texts: sled_strerror's table and the per-thread detail buffer.
#include "core/error.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "sled/sled.h"

namespace sled {
namespace {
thread_local char t_last_error[512];
}

void set_last_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_last_error, sizeof t_last_error, fmt, ap);
  va_end(ap);
}

const char *last_error() { return t_last_error; }

const char *format_bytes(const unsigned char *bytes, unsigned n, char *buf, unsigned size) {
  unsigned off = 0;
  buf[0] = '\0';
  for (unsigned i = 0; i < n && off + 4 < size; i++)
    off += static_cast<unsigned>(snprintf(buf + off, size - off, i ? " %02x" : "%02x", bytes[i]));
  return buf;
}
}  // namespace sled

extern "C" const char *sled_strerror(int err) {
  switch (-err) {
    case 0:
      return "success";
    case EINVAL:
      return "invalid argument or malformed pattern";
    case ENOENT:
      return "no such function or ops";
    case EEXIST:
      return "ops already registered";
    case EBUSY:
      return "another IPMODIFY ops already traces that function";
    case EDEADLK:
      return "sled called from inside a sled callback";
    case ENOEXEC:
      return "function cannot be traced (see sled_last_error)";
    case EIO:
      return "unexpected bytes at a site; sled stopped patching";
    case ENOTRECOVERABLE:
      return "patching stopped after an earlier anomaly";
    case ENOMEM:
      return "out of memory";
    case ENOSYS:
      return "kernel lacks membarrier(PRIVATE_EXPEDITED_SYNC_CORE)";
    case EACCES:
      return "could not change page protections of the text";
    case EOPNOTSUPP:
      return "not supported";
    case E2BIG:
      return "too many ops on one function (SLED_MAX_OPS_PER_SITE)";
    case EAGAIN:
      return "a library was loaded or unloaded during the walk";
    case EPERM:
      return "the kernel refused a system call sled needs (membarrier: a sandbox?)";
    default:
      return err < 0 ? strerror(-err) : "not an error code";
  }
}

extern "C" const char *sled_last_error(void) { return sled::last_error(); }
