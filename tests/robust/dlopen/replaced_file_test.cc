// replaced_file_test.cc — a module whose file was replaced on disk after it
// was loaded (issue 8, item 12) must not get the new file's names: sled
// reads the mapped file (/proc/self/map_files) or refuses the module. The
// library is loaded behind sled's back (libc's own dlopen), the new file is
// renamed over the old path, and only then does sled discover the module;
// once as root (sled reads the mapped file) and once in a child that gave up
// root (sled cannot open it and refuses the module).
#include <dlfcn.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "sled_test_support.h"

namespace sled_test {
namespace {

namespace fs = std::filesystem;
using DlopenFn = void *(*)(const char *, int);

// glibc's dlopen itself, not sled's wrapper: sled does not see the load.
DlopenFn LibcDlopen() {
  void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  return libc ? reinterpret_cast<DlopenFn>(dlsym(libc, "dlopen")) : nullptr;
}

// Loads the old library behind sled's back, renames the new one over it
// and lets sled discover the module. Returns "" when sled named the loaded
// file's functions or refused the module with its reason, else what was
// wrong. `dir` holds libdlr_swap.so and libdlr_swap.so.new.
std::string Scenario(const fs::path &dir, bool expect_refusal) {
  const fs::path installed = dir / "libdlr_swap.so";
  DlopenFn libc_dlopen = LibcDlopen();
  if (!libc_dlopen) return "libc's dlopen not found";
  void *handle = libc_dlopen(installed.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return std::string("dlopen: ") + dlerror();
  auto alpha = reinterpret_cast<uintptr_t>(dlsym(handle, "swap_alpha"));
  if (!alpha) return "swap_alpha not found";

  // The upgrade: the new file was written beside and is renamed over the old.
  fs::rename(dir / "libdlr_swap.so.new", installed);

  // sled discovers the module at its next call (one that sets no error of
  // its own: a refusal's reason stays readable).
  sled_site_count();
  const std::string discovery_error = sled_last_error();
  std::string wrong;
  Tracer tracer;
  if (tracer.SetFilter("other_alpha other_beta") != -ENOENT)
    wrong += "a filter naming the new file's functions matched the loaded ones; ";
  sled_site_info info{};
  int found = sled_site_lookup(alpha, &info);
  if (found == 0) {
    if (expect_refusal) wrong += "the module was read though the loaded file cannot be opened; ";
    if (std::strcmp(info.name, "swap_alpha") != 0 || std::strcmp(info.module, "libdlr_swap.so"))
      wrong += std::string("swap_alpha is named ") + info.name + " in " + info.module + "; ";
    if (tracer.SetFilter("swap_alpha") != 0) wrong += "swap_alpha cannot be traced; ";
  } else if (found != -ENOENT || discovery_error.find("replaced on disk") == std::string::npos) {
    wrong += "refused without the reason: " + discovery_error + "; ";
  }
  if (reinterpret_cast<int (*)(int)>(alpha)(1) != 2) wrong += "swap_alpha broken; ";
  dlclose(handle);
  return wrong;
}

fs::path MakeDir() {
  char dir_template[] = "/tmp/sled_replaced_XXXXXX";
  if (!mkdtemp(dir_template)) return {};
  fs::path dir = dir_template;
  fs::copy_file(DLR_SWAP_OLD, dir / "libdlr_swap.so");
  fs::copy_file(DLR_SWAP_NEW, dir / "libdlr_swap.so.new");
  return dir;
}

TEST(ReplacedFile, ModuleGetsTheLoadedFilesNamesOrIsRefused) {
  fs::path dir = MakeDir();
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(Scenario(dir, false), "");
  fs::remove_all(dir);
}

TEST(ReplacedFile, UnprivilegedProcessRefusesTheModule) {
  // Without CAP_CHECKPOINT_RESTORE/CAP_SYS_ADMIN /proc/self/map_files
  // cannot be opened: the module must be refused, with the reason.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges in a child";
  fs::path dir = MakeDir();
  ASSERT_FALSE(dir.empty());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 3;
    if (chown(dir.c_str(), 65534, 65534) == 0 && setgroups(0, nullptr) == 0 &&
        setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0) {
      std::string wrong = Scenario(dir, true);
      if (!wrong.empty()) fprintf(stderr, "%s\n", wrong.c_str());
      rc = wrong.empty() ? 0 : 1;
    }
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sled_test
