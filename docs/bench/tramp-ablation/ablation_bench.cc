/* Throwaway ablation harness (docs/bench/tramp.md), not built by CMake:
 * needs a libsled built with trampoline-ablation.patch applied. Build:
 *   clang++ -std=c++20 -O2 -Iinclude -Ibench ablation_bench.cc ablation_floors.S \
 *     build/bench/libsled_bench_tiny_{traced,plain}.a build/bench/libsled_bench_floors.a \
 *     -Lbuild/src -lsled -lbenchmark -lpthread -ldl
 * Run: --benchmark_enable_random_interleaving=true --benchmark_repetitions=10
 *      --benchmark_min_time=0.05 --benchmark_out=out1.json --benchmark_out_format=json */
// Throwaway: every ablated trampoline variant in one process, interleaved.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sled/sled.h>
#include <sys/mman.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include "tiny.h"
#include "floors.h"
extern "C" int abl_floor_save_jump(int);
extern "C" int abl_floor_save_direct(int);
extern "C" __attribute__((noinline, used)) void abl_empty_handler(uintptr_t, uintptr_t) { __asm__ volatile(""); }

static void empty_cb(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}
SLED_SAVES_REGS void empty_cb_pa(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

template <int (*Fn)(int)>
void loop(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) { x = Fn(x); benchmark::DoNotOptimize(std::as_const(x)); }
}
static uintptr_t* stub_slot() {
  auto* p = reinterpret_cast<uint8_t*>(&tiny_traced);
  if (p[0] != 0xe8) return nullptr;
  int32_t rel; std::memcpy(&rel, p + 1, 4);
  uint8_t* stub = p + 5 + rel;
  static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0};
  if (std::memcmp(stub, jmp, 6) != 0) return nullptr;
  return reinterpret_cast<uintptr_t*>(stub + 6);
}
static bool point_stub(uintptr_t target) {
  uintptr_t* slot = stub_slot();
  if (!slot) return false;
  uintptr_t page = reinterpret_cast<uintptr_t>(slot) & ~uintptr_t{4095};
  if (mprotect((void*)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)) return false;
  *slot = target;
  mprotect((void*)page, 4096, PROT_READ | PROT_EXEC);
  return true;
}
static sled_ops g_ops[2];
static int g_nops = 0;
static void setup(int kind) {  // 0 ordinary, 1 saves_regs, 2 two ops
  for (int i = 0; i < g_nops; i++) sled_unregister_ops(&g_ops[i]);
  std::memset(g_ops, 0, sizeof g_ops);
  g_nops = kind == 2 ? 2 : 1;
  for (int i = 0; i < g_nops; i++) {
    g_ops[i].func = kind == 1 ? reinterpret_cast<sled_func_t>(&empty_cb_pa) : empty_cb;
    g_ops[i].flags = kind == 1 ? SLED_OPS_FL_SAVES_REGS : 0;
    sled_set_filter(&g_ops[i], "tiny_traced", 1);
    if (sled_register_ops(&g_ops[i]) < 0) { std::fprintf(stderr, "register failed\n"); std::exit(1); }
  }
}
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("1_plain", loop<tiny_plain>)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("F1", loop<floor_call_ret>)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("F2", loop<floor_save_call>)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("F3", loop<floor_save_fp_call>)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("F2d", loop<abl_floor_save_direct>)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("F2j", loop<abl_floor_save_jump>)->Unit(benchmark::kNanosecond);
  static const int variants[] = {0, 1, 2, 4, 8, 16, 32, 47, 63, 64};
  for (int kind = 0; kind < 3; kind++)
    for (int v : variants) {
      if (kind == 2 && v != 0 && v != 64) continue;
      std::string sym = "sled_abl_tramp_" + std::to_string(v);
      void* t = dlsym(RTLD_DEFAULT, sym.c_str());
      if (!t) { std::fprintf(stderr, "no %s\n", sym.c_str()); return 1; }
      std::string name = std::string(kind == 0 ? "3" : kind == 1 ? "3s" : "5") + "_v" + std::to_string(v);
      benchmark::RegisterBenchmark(name.c_str(), [kind, t](benchmark::State& st) {
        setup(kind);
        if (!point_stub(reinterpret_cast<uintptr_t>(t))) { st.SkipWithError("stub"); return; }
        loop<tiny_traced>(st);
      })->Unit(benchmark::kNanosecond);
    }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
