// `sled attach` on an architecture without a back end (aarch64 for now):
// every entry point refuses; nothing touches the target.
#include <cerrno>

#include "attach/remote_arch.h"

namespace sled::attach {

const char *attach_unsupported() {
  return "sled attach works on x86_64 only for now (this build's architecture has no "
         "remote-call back end); start the program under the agent with `sled record` instead";
}
bool classify_compiled_site(uintptr_t, const uint8_t *, uintptr_t *) { return false; }
void normalized_patch(uint8_t[kPatchSize]) {}
bool thread_pc(pid_t, uintptr_t *) { return false; }
bool thread_in_syscall(pid_t) { return false; }
int single_step(pid_t, int *) { return -ENOSYS; }
int RemoteCall::save(std::string *error) {
  *error = attach_unsupported();
  return -ENOSYS;
}
int RemoteCall::call(uintptr_t, const std::vector<uintptr_t> &, std::string_view, uintptr_t *,
                     std::string *error) {
  *error = attach_unsupported();
  return -ENOSYS;
}
int RemoteCall::restore(std::string *) { return 0; }

}  // namespace sled::attach
