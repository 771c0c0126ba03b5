/* bti_check.c — sled's live toggle in a BTI-enforced program (aarch64).
 *
 * Built with -mbranch-protection=standard and linked with -z force-bti
 * (and bti_start.S in place of the C library's start files, which have no
 * landing pads), against libsled.a: every page of this program's text is
 * guarded, sled's trampolines included. Run under qemu-aarch64 -cpu max,
 * which enforces BTI like a BTI CPU does.
 *
 * The indirect branches into sled code that need a landing pad are the near
 * stub's `br x16` into a trampoline (sites in a module beyond bl's reach:
 * libsled_bti_far.so) and a generated trampoline's `br x17` into the shared
 * dyntramp body. The check:
 *   1. BTI is enforced here: an indirect call to a function without a
 *      landing pad dies with SIGILL (else the rest would prove nothing);
 *   2. under each strategy, sites in this program and in the far module are
 *      switched on and off repeatedly and called through pointers, with
 *      exact counts, and the call path is read from the code bytes;
 *   3. patched pages keep PROT_BTI: a function without a landing pad on a
 *      page sled has patched still dies with SIGILL;
 *   4. each landing pad matters: in a child, replacing the `bti c` of the
 *      trampoline a path lands on with a NOP turns that call into SIGILL,
 *      while the same call with the pad in place succeeds.
 * Exit 0 on success, 1 on any failure, 77 (skipped) on a CPU without BTI.
 *   bti_check <path of libsled_bti_far.so> */
#include <dlfcn.h>
#include <signal.h>
#include <sled/sled.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1UL << 17)
#endif

/* Hidden in libsled, but linked into this program with libsled.a. */
void sled_callops_trampoline(void);
void sled_list_trampoline(void);
void sled_dyntramp_body(void);

enum {
  kNop = 0xd503201f,
  kBtiC = 0xd503245f,
  kMovX9X30 = 0xaa1e03e9,
  kLdrX16_8 = 0x58000050, /* ldr x16, #8 (near stub) */
  kBrX16 = 0xd61f0200,
  kLdrX16_16 = 0x58000090, /* ldr x16, #16 (generated trampoline) */
  kLdrX17_20 = 0x580000b1, /* ldr x17, #20 */
  kBrX17 = 0xd61f0220,
};
#define kReach (INT64_C(1) << 27) /* bl: +-128 MiB */

static int failures;
#define CHECK(cond, ...)                                                 \
  do {                                                                   \
    if (!(cond)) {                                                       \
      failures++;                                                        \
      fprintf(stderr, "bti_check: FAIL line %d: %s: ", __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                      \
      fputc('\n', stderr);                                               \
    }                                                                    \
  } while (0)

/* aligned(4096): near_traced and near_unmarked share a page. */
__attribute__((noinline, aligned(4096))) int near_traced(int x) { return x + 1; }

__attribute__((noinline, target("branch-protection=none"), patchable_function_entry(0, 0))) int
near_unmarked(int x) {
  return x + 2;
}

typedef int (*int_fn)(int);
static int_fn far_traced, far_unmarked;

static unsigned long near_hits, far_hits;
static void on_call(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  (void)parent_ip, (void)ops, (void)regs;
  if (ip == (uintptr_t)&near_traced) near_hits++;
  if (ip == (uintptr_t)far_traced) far_hits++;
}
static sled_ops tracer = {.func = on_call};

static uint32_t word_at(uintptr_t addr) {
  uint32_t w;
  memcpy(&w, (const void *)addr, sizeof w);
  return w;
}
static uint64_t quad_at(uintptr_t addr) {
  uint64_t q;
  memcpy(&q, (const void *)addr, sizeof q);
  return q;
}

/* The site's live word: after `bti c; mov x9, x30`. */
static uintptr_t patch_slot(int_fn fn) { return (uintptr_t)fn + 8; }

/* Target of the bl at addr, or 0. */
static uintptr_t bl_target(uintptr_t addr) {
  uint32_t w = word_at(addr);
  if ((w & 0xfc000000u) != 0x94000000u) return 0;
  int64_t imm = w & 0x03ffffff;
  if (imm & 0x02000000) imm -= 0x04000000;
  return addr + (uintptr_t)(imm * 4);
}

/* Where a call to fn lands in sled's trampolines, following a near stub or
 * a generated trampoline; *via says which it went through. */
static uintptr_t landing(int_fn fn, const char **via) {
  uintptr_t t = bl_target(patch_slot(fn));
  *via = "bl";
  if (!t) return 0;
  if (word_at(t) == kLdrX16_8 && word_at(t + 4) == kBrX16) {
    *via = "near stub";
    return quad_at(t + 8);
  }
  if (word_at(t) == kLdrX16_16 && word_at(t + 4) == kLdrX17_20 && word_at(t + 8) == kBrX17) {
    *via = "generated trampoline";
    return quad_at(t + 24);
  }
  return t;
}

/* Runs fn(x) through a pointer in a child; returns its wait status. */
static int status_of_call_in_child(int_fn fn, int x, uintptr_t unpad) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (unpad) { /* take the landing pad away: bti c -> nop */
      uintptr_t page = unpad & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
      size_t len = (size_t)sysconf(_SC_PAGESIZE);
      if (mprotect((void *)page, len, PROT_READ | PROT_WRITE | PROT_EXEC | PROT_BTI) != 0) _exit(3);
      *(volatile uint32_t *)unpad = kNop;
      __builtin___clear_cache((char *)unpad, (char *)unpad + 4);
      if (mprotect((void *)page, len, PROT_READ | PROT_EXEC | PROT_BTI) != 0) _exit(3);
    }
    int_fn volatile f = fn;
    _exit(f(x) == 12345 ? 4 : 0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}
static int dies_with_sigill(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGILL;
}
static int exits_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

static void expect_pad_needed(const char *what, int_fn fn, uintptr_t pad) {
  CHECK(word_at(pad) == kBtiC, "%s: no bti c at %#lx", what, (unsigned long)pad);
  int with_pad = status_of_call_in_child(fn, 1, 0);
  int without = status_of_call_in_child(fn, 1, pad);
  CHECK(exits_cleanly(with_pad), "%s: the call failed with its landing pad (status %#x)", what,
        with_pad);
  CHECK(dies_with_sigill(without), "%s: the call survived without its landing pad (status %#x)",
        what, without);
}

/* Switches the tracer on and off `rounds` times, calling both functions
 * through pointers each time; counts must be exact. */
static void toggle(const char *strategy, int rounds) {
  CHECK(sled_set_strategy(strategy) == 0, "%s: %s", strategy, sled_last_error());
  for (int i = 0; i < rounds; i++) {
    CHECK(sled_register_ops(&tracer) == 0, "%s: register: %s", strategy, sled_last_error());
    unsigned long near0 = near_hits, far0 = far_hits;
    int_fn volatile n = near_traced, f = far_traced;
    CHECK(n(i) == i + 1 && f(i) == 3 * i, "%s: wrong results", strategy);
    CHECK(near_hits == near0 + 1 && far_hits == far0 + 1, "%s round %d: %lu/%lu calls seen",
          strategy, i, near_hits - near0, far_hits - far0);
    if (i == 0) {
      const char *via_near, *via_far;
      uintptr_t near_to = landing(near_traced, &via_near), far_to = landing(far_traced, &via_far);
      uintptr_t want = strcmp(strategy, "list") == 0       ? (uintptr_t)&sled_list_trampoline
                       : strcmp(strategy, "dyntramp") == 0 ? (uintptr_t)&sled_dyntramp_body
                                                           : (uintptr_t)&sled_callops_trampoline;
      CHECK(near_to == want && far_to == want, "%s: calls land at %#lx (%s) and %#lx (%s)",
            strategy, (unsigned long)near_to, via_near, (unsigned long)far_to, via_far);
      CHECK(strcmp(via_far, "bl") != 0, "%s: the far site calls the trampoline directly", strategy);
      printf("bti_check: %-8s near site -> %s, far site -> %s\n", strategy, via_near, via_far);
    }
    CHECK(sled_unregister_ops(&tracer) == 0, "%s: unregister", strategy);
    near0 = near_hits, far0 = far_hits;
    CHECK(n(i) == i + 1 && f(i) == 3 * i, "%s: wrong results when off", strategy);
    CHECK(near_hits == near0 && far_hits == far0, "%s: calls seen while off", strategy);
    CHECK(word_at(patch_slot(near_traced)) == kNop && word_at(patch_slot(far_traced)) == kNop,
          "%s: sites not NOPs again", strategy);
  }
}

int main(int argc, char **argv) {
  if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI)) {
    puts("bti_check: this CPU has no BTI: skipped");
    return 77;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: bti_check <path of libsled_bti_far.so>\n");
    return 2;
  }
  void *far = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!far) {
    fprintf(stderr, "bti_check: %s\n", dlerror());
    return 1;
  }
  far_traced = (int_fn)dlsym(far, "far_traced");
  far_unmarked = (int_fn)dlsym(far, "far_unmarked");
  if (!far_traced || !far_unmarked) {
    fprintf(stderr, "bti_check: libsled_bti_far.so lacks its functions\n");
    return 1;
  }

  /* 1. Enforced: a pointer call without a landing pad dies. */
  CHECK(dies_with_sigill(status_of_call_in_child(near_unmarked, 1, 0)),
        "BTI is not enforced in this program (or sled dropped PROT_BTI when it wrote the "
        "sites' mov x9, x30 at start-up)");
  CHECK(dies_with_sigill(status_of_call_in_child(far_unmarked, 1, 0)),
        "BTI is not enforced in libsled_bti_far.so");
  CHECK((uintptr_t)near_unmarked >> 12 == (uintptr_t)near_traced >> 12 &&
            (uintptr_t)far_unmarked >> 12 == (uintptr_t)far_traced >> 12,
        "the unmarked functions do not share their traced neighbours' pages");
  int64_t dist = (int64_t)((uintptr_t)far_traced - (uintptr_t)&sled_callops_trampoline);
  CHECK(dist >= kReach || dist <= -kReach,
        "libsled_bti_far.so loaded within bl's reach of the trampolines (%lld bytes)",
        (long long)dist);
  CHECK(
      word_at((uintptr_t)near_traced) == kBtiC && word_at((uintptr_t)near_traced + 4) == kMovX9X30,
      "near_traced does not start with bti c; mov x9, x30");
  CHECK(word_at((uintptr_t)far_traced) == kBtiC && word_at((uintptr_t)far_traced + 4) == kMovX9X30,
        "far_traced does not start with bti c; mov x9, x30");

  /* 2. The live toggle under every strategy. */
  CHECK(sled_set_filter(&tracer, "near_traced far_traced", 1) == 0, "%s", sled_last_error());
  const int rounds = 20;
  toggle("callops", rounds);
  toggle("list", rounds);
  toggle("dyntramp", rounds);

  /* 3 and 4, with the sites on. */
  CHECK(sled_register_ops(&tracer) == 0, "register: %s", sled_last_error());
  CHECK(dies_with_sigill(status_of_call_in_child(near_unmarked, 1, 0)),
        "PROT_BTI dropped from this program's patched page");
  CHECK(dies_with_sigill(status_of_call_in_child(far_unmarked, 1, 0)),
        "PROT_BTI dropped from libsled_bti_far.so's patched page");
  CHECK(sled_set_strategy("callops") == 0, "callops");
  expect_pad_needed("near stub -> callops trampoline", far_traced,
                    (uintptr_t)&sled_callops_trampoline);
  CHECK(sled_set_strategy("list") == 0, "list");
  expect_pad_needed("near stub -> list trampoline", far_traced, (uintptr_t)&sled_list_trampoline);
  CHECK(sled_set_strategy("dyntramp") == 0, "dyntramp");
  expect_pad_needed("generated trampoline -> dyntramp body", near_traced,
                    (uintptr_t)&sled_dyntramp_body);
  CHECK(sled_unregister_ops(&tracer) == 0, "unregister");

  if (failures) {
    fprintf(stderr, "bti_check: %d failure(s)\n", failures);
    return 1;
  }
  printf(
      "bti_check: OK: %d toggles under 3 strategies, %lu + %lu calls traced, landing pads "
      "required and present\n",
      3 * rounds, near_hits, far_hits);
  return 0;
}
