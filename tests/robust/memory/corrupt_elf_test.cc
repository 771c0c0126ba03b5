// corrupt_elf_test.cc — issue 8 item 22: a module whose section headers on
// disk are corrupt must never crash the process that links libsled. Each
// case copies the instrumented fixture libmemfix.so, overwrites fields of
// its section headers (the loader never reads those, so dlopen succeeds),
// and loads the copy in a forked child: the child must keep running, call
// the library's functions, trace them or not, and exit normally. sled
// either finds no sites in the corrupt module or only sites that are real.
#include <dlfcn.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <sled/sled.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#ifndef MEMFIX_LIBRARY
#error "MEMFIX_LIBRARY: path of libmemfix.so"
#endif

namespace {

std::vector<char> ReadFile(const char *path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

// The section headers of an ELF64 image in memory, with their names.
struct Image {
  std::vector<char> bytes;
  Elf64_Ehdr *eh() { return reinterpret_cast<Elf64_Ehdr *>(bytes.data()); }
  Elf64_Shdr *sh(size_t i) {
    return reinterpret_cast<Elf64_Shdr *>(bytes.data() + eh()->e_shoff) + i;
  }
  Elf64_Shdr *find(const char *name) {
    const Elf64_Shdr *names = sh(eh()->e_shstrndx);
    for (size_t i = 0; i < eh()->e_shnum; i++)
      if (strcmp(bytes.data() + names->sh_offset + sh(i)->sh_name, name) == 0) return sh(i);
    return nullptr;
  }
  // st_value of a symbol of .symtab.
  uint64_t symbol(const char *name) {
    Elf64_Shdr *symtab = find(".symtab");
    if (!symtab) return 0;
    const Elf64_Shdr *strtab = sh(symtab->sh_link);
    auto *syms = reinterpret_cast<const Elf64_Sym *>(bytes.data() + symtab->sh_offset);
    for (size_t i = 0; i < symtab->sh_size / sizeof(Elf64_Sym); i++)
      if (strcmp(bytes.data() + strtab->sh_offset + syms[i].st_name, name) == 0)
        return syms[i].st_value;
    return 0;
  }
};

std::atomic<unsigned> g_calls{0};
void Count(uintptr_t, uintptr_t, sled_ops *, sled_regs *) { g_calls++; }

// What the child checks; returns its exit code (0: all well). noexcept: an
// exception escaping sled must end the child, not reach gtest's handler.
int LoadAndUse(const std::string &path) noexcept {
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fprintf(stderr, "dlopen: %s\n", dlerror()), 2;
  auto sum = reinterpret_cast<int (*)(int)>(dlsym(lib, "memfix_sum"));
  auto add = reinterpret_cast<int (*)(int, int)>(dlsym(lib, "memfix_add"));
  if (!sum || !add) return 3;
  if (sum(4) != 12) return 4;
  // Every site sled lists must be a real function entry of some module.
  sled_site_info info;
  int rc = sled_site_lookup(reinterpret_cast<uintptr_t>(add), &info);
  if (rc != 0 && rc != -ENOENT) return fprintf(stderr, "lookup: %d\n", rc), 5;
  sled_ops ops{};
  ops.func = Count;
  rc = sled_register_ops(&ops);  // every site of every module
  if (rc != 0) return fprintf(stderr, "register: %d %s\n", rc, sled_last_error()), 6;
  g_calls = 0;
  if (sum(4) != 12) return 7;
  // Traced (9 calls) if sled found the module's real sites, else untouched.
  unsigned seen = g_calls.load();
  if (seen != 0 && seen != 9) return fprintf(stderr, "calls seen: %u\n", seen), 8;
  if (sled_unregister_ops(&ops) != 0) return 9;
  if (dlclose(lib) != 0) return 10;
  return 0;
}

class CorruptElf : public ::testing::Test {
 protected:
  void SetUp() override {
    original_.bytes = ReadFile(MEMFIX_LIBRARY);
    ASSERT_GT(original_.bytes.size(), sizeof(Elf64_Ehdr));
    char tmpl[] = "/tmp/sled-corrupt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string &f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }

  // Writes a copy changed by `corrupt`, loads it in a child, returns the
  // child's wait status.
  void Check(const char *name, const std::function<void(Image &)> &corrupt) {
    Image img = original_;
    corrupt(img);
    std::string path = dir_ + "/libmemfix_" + name + ".so";
    {
      std::ofstream out(path, std::ios::binary);
      out.write(img.bytes.data(), static_cast<std::streamsize>(img.bytes.size()));
    }
    files_.push_back(path);
    fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(LoadAndUse(path));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status))
        << name << ": child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (WIFEXITED(status)) EXPECT_EQ(WEXITSTATUS(status), 0) << name;
  }

  Image original_;
  std::string dir_;
  std::vector<std::string> files_;
};

constexpr const char kPfe[] = "__patchable_function_entries";

TEST_F(CorruptElf, IntactCopyIsTraced) {
  Check("intact", [](Image &) {});
}

TEST_F(CorruptElf, HugeStrtabSize) {
  Check("strtab_huge", [](Image &img) { img.find(".strtab")->sh_size = uint64_t{1} << 62; });
}

TEST_F(CorruptElf, HugeSymtabSize) {
  Check("symtab_huge", [](Image &img) { img.find(".symtab")->sh_size = uint64_t{1} << 62; });
}

TEST_F(CorruptElf, StrtabBeyondFile) {
  Check("strtab_offset", [](Image &img) { img.find(".strtab")->sh_offset = ~uint64_t{0} - 16; });
}

TEST_F(CorruptElf, PatchSectionSizeWraps) {
  Check("pfe_size_wraps", [](Image &img) { img.find(kPfe)->sh_size = ~uint64_t{0} - 7; });
}

TEST_F(CorruptElf, PatchSectionSizeBeyondFile) {
  Check("pfe_size_big", [](Image &img) { img.find(kPfe)->sh_size = uint64_t{1} << 40; });
}

TEST_F(CorruptElf, PatchSectionAddressNearTop) {
  Check("pfe_addr_top", [](Image &img) {
    Elf64_Shdr *pfe = img.find(kPfe);
    pfe->sh_addr = ~uint64_t{0} - 0xfff;  // bias + addr wraps below the module
    pfe->sh_size = 0x3000;
  });
}

TEST_F(CorruptElf, PatchSectionNamesSitesNearTop) {
  // The section's words read as literals at 2^64-1: literal + window wraps.
  Check("pfe_ones", [](Image &img) {
    uint64_t ones = img.symbol("memfix_ones");
    ASSERT_NE(ones, 0u);
    img.find(kPfe)->sh_addr = ones;
    img.find(kPfe)->sh_size = 4 * sizeof(uint64_t);
  });
}

TEST_F(CorruptElf, SectionTableBeyondFile) {
  Check("shoff", [](Image &img) { img.eh()->e_shoff = ~uint64_t{0} - 63; });
}

TEST_F(CorruptElf, SymtabLinksToItself) {
  Check("symtab_link", [](Image &img) {
    Elf64_Shdr *symtab = img.find(".symtab");
    symtab->sh_link = static_cast<uint32_t>(symtab - img.sh(0));
  });
}

}  // namespace
