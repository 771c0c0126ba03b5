// What sled's dlopen/dlmopen wrappers pass to the real functions. glibc
// resolves `$ORIGIN` and the DT_RPATH/DT_RUNPATH search of a file name
// against the module that called dlopen, found from the return address;
// called from libsled's wrapper it would use libsled's. This computes, for
// the program's real caller, the name glibc would have opened: the file name
// itself when the caller makes no difference, or a path. It only reads the
// loader's public state (dladdr1, dlinfo, dl_iterate_phdr) and the file
// system; it never loads anything.
#pragma once

namespace sled {

// dlopen's target namespace (the caller's), in place of a dlmopen Lmid_t.
constexpr long kCallerNamespace = -2;

// `file` as the program passed it, `caller` the return address of its call,
// `lmid` dlmopen's namespace or kCallerNamespace. Returns the path to pass
// instead (malloc'ed: the caller frees it), or null to pass `file` as it is
// (also whenever it cannot tell).
char *dl_file_for_caller(const char *file, const void *caller, long lmid);

}  // namespace sled
