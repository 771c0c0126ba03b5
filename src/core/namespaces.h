// Objects of the link-map namespaces other than libsled's (dlmopen).
// dl_iterate_phdr lists only the caller's namespace; glibc's debugger
// interface (_r_debug, r_version 2 since glibc 2.35) chains one r_debug per
// namespace. Only reads the loader's lists, under the loader's list lock.
#pragma once
#include <link.h>

namespace sled {

// Finds libsled's own namespace; once, at start-up (it asks the loader).
void namespaces_init();
// Calls `add` as dl_iterate_phdr would for each object of every other
// namespace, when libsled lives in the base namespace. A namespace that
// holds its own copy of libsled is left to that copy.
void for_each_object_of_other_namespaces(int (*add)(struct dl_phdr_info *, size_t, void *),
                                         void *arg);

}  // namespace sled
