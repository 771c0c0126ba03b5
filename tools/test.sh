#!/usr/bin/env bash
# sled's test command (README and CI run exactly `bash tools/test.sh`).
#
# Builds and runs the CTest suite in five configurations, one after the
# other, and fails if any of them fails:
#   plain  build/       everything (tests, bench, examples must compile;
#                       benchmarks are not run)
#   asan   build-asan/  -DSLED_SANITIZE=address,undefined, no bench/examples
#   tsan   build-tsan/  -DSLED_SANITIZE=thread, no bench/examples
#   arm64  build-arm64/ cross build for aarch64 (cmake/toolchains/
#                       aarch64-linux-gnu.cmake), the same tests run under
#                       qemu-aarch64 by CTest (the cross packages of
#                       tools/deps.sh)
#   arm64-asan  build-arm64-asan/  the arm64 build with ASan+UBSan, compiled
#                       with the cross GCC (aarch64-linux-gnu-gcc.cmake),
#                       whose sanitizer runtimes Debian packages for arm64;
#                       leak detection off (LSan stops threads with ptrace,
#                       which qemu-user does not emulate), and ASan's
#                       library-order check off (GCC's ASan runtime is a
#                       shared library that the preload agent's tests load
#                       after libsled-preload.so). No arm64 TSan:
#                       its memory layout and qemu-user's do not fit (README)
#
#   bash tools/test.sh [plain|asan|tsan|arm64|arm64-asan]...   (default: all five)
#
# Environment: SLED_JOBS (build and ctest parallelism, default 2),
# SLED_CTEST_ARGS (extra ctest arguments, e.g. "-R unit"), and the usual
# ASAN_OPTIONS / UBSAN_OPTIONS / TSAN_OPTIONS, which replace the defaults
# below when set.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

jobs=${SLED_JOBS:-2}
all_configs=(plain asan tsan arm64 arm64-asan)

usage() { sed -n '2,29s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

configs=()
for arg in "$@"; do
  case $arg in
    plain|asan|tsan|arm64|arm64-asan) configs+=("$arg") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test.sh: unknown configuration '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ ${#configs[@]} -gt 0 ]] || configs=("${all_configs[@]}")

for tool in cmake ctest; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: $tool not found (bash tools/deps.sh)" >&2; exit 1; }
done

# Per-configuration settings.
config_dir() {
  case $1 in
    plain) echo build ;;
    asan) echo build-asan ;;
    tsan) echo build-tsan ;;
    arm64) echo build-arm64 ;;
    arm64-asan) echo build-arm64-asan ;;
  esac
}
config_cmake_args() {
  case $1 in
    plain) echo "-DSLED_SANITIZE= -DSLED_BUILD_TESTS=ON -DSLED_BUILD_BENCH=ON -DSLED_BUILD_EXAMPLES=ON" ;;
    asan) echo "-DSLED_SANITIZE=address,undefined -DSLED_BUILD_TESTS=ON -DSLED_BUILD_BENCH=OFF -DSLED_BUILD_EXAMPLES=OFF" ;;
    tsan) echo "-DSLED_SANITIZE=thread -DSLED_BUILD_TESTS=ON -DSLED_BUILD_BENCH=OFF -DSLED_BUILD_EXAMPLES=OFF" ;;
    arm64) echo "-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/aarch64-linux-gnu.cmake -DSLED_SANITIZE= -DSLED_BUILD_TESTS=ON -DSLED_BUILD_BENCH=OFF -DSLED_BUILD_EXAMPLES=ON" ;;
    arm64-asan) echo "-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/aarch64-linux-gnu-gcc.cmake -DSLED_SANITIZE=address,undefined -DSLED_BUILD_TESTS=ON -DSLED_BUILD_BENCH=OFF -DSLED_BUILD_EXAMPLES=OFF" ;;
  esac
}
config_sanitizer() {
  case $1 in
    asan) echo address,undefined ;;
    tsan) echo thread ;;
  esac
}
# Sanitizer options a cross configuration needs under qemu-user.
config_cross_env() {
  case $1 in
    arm64-asan) echo "ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0:verify_asan_link_order=0" ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

# Older sanitizer runtimes (clang 14's TSan among them) abort with
# "unexpected memory mapping" on kernels with more mmap randomisation
# (vm.mmap_rnd_bits=32). Probe the compiler the build will use; when a
# sanitized hello-world only runs with ASLR off, run that configuration's
# tests under `setarch -R`.
sanitizer_launcher() {
  local san=$1 dir cc out
  cc=${CC:-clang}
  command -v "$cc" >/dev/null 2>&1 || return 0
  dir=$(mktemp -d) || return 0
  printf '#include <pthread.h>\nstatic void *f(void *p) { return p; }\nint main(void) { pthread_t t; pthread_create(&t, 0, f, 0); return pthread_join(t, 0); }\n' >"$dir/probe.c"
  if "$cc" -fsanitize="$san" -pthread "$dir/probe.c" -o "$dir/probe" >/dev/null 2>&1; then
    if ! out=$("$dir/probe" 2>&1); then
      if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R "$dir/probe" >/dev/null 2>&1; then
        echo "setarch $(uname -m) -R"
      else
        echo "test.sh: warning: a -fsanitize=$san hello-world fails here: $out" >&2
      fi
    fi
  fi
  rm -rf "$dir"
}

declare -A result passed failed elapsed

# Reads "NN% tests passed, F tests failed out of T" from a ctest log.
count_tests() {
  local name=$1 log=$2 line total fails
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [[ -z $line ]]; then
    passed[$name]=0
    failed[$name]=1 # ctest did not finish: count the configuration as one failure
    return
  fi
  fails=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  passed[$name]=$((total - fails))
  failed[$name]=$fails
}

run_config() {
  local name=$1 dir args launcher san start rc log
  local -a cross_env
  dir=$(config_dir "$name")
  read -r -a args <<<"$(config_cmake_args "$name")"
  start=$SECONDS
  passed[$name]=0
  failed[$name]=0

  printf '\n======== %s: configure %s/ ========\n' "$name" "$dir"
  # Keep the generator of an existing build tree; default to Ninja.
  if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    args+=(-G Ninja)
  fi
  if ! cmake -S . -B "$dir" "${args[@]}"; then
    result[$name]="FAIL (configure)"; failed[$name]=1; elapsed[$name]=$((SECONDS - start)); return 1
  fi

  printf '\n======== %s: build ========\n' "$name"
  if ! cmake --build "$dir" -j "$jobs"; then
    result[$name]="FAIL (build)"; failed[$name]=1; elapsed[$name]=$((SECONDS - start)); return 1
  fi

  printf '\n======== %s: test ========\n' "$name"
  launcher=()
  san=$(config_sanitizer "$name")
  if [[ -n $san ]]; then
    read -r -a launcher <<<"$(sanitizer_launcher "$san")"
    [[ ${#launcher[@]} -gt 0 ]] && echo "test.sh: running $name tests under '${launcher[*]}' (sanitizer needs ASLR off here)"
  fi
  read -r -a cross_env <<<"$(config_cross_env "$name")"
  [[ ${#cross_env[@]} -gt 0 ]] && launcher=(env "${cross_env[@]}" "${launcher[@]}")
  log=$dir/sled-test.log
  local -a extra=()
  [[ -n ${SLED_CTEST_ARGS:-} ]] && read -r -a extra <<<"$SLED_CTEST_ARGS"
  # Benchmarks are built, not run: tests labelled "bench" are left out.
  "${launcher[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs" \
    --no-tests=error --timeout 900 -LE '^bench$' "${extra[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_tests "$name" "$log"
  elapsed[$name]=$((SECONDS - start))
  if [[ $rc -ne 0 ]]; then
    result[$name]="FAIL (tests)"
    [[ ${failed[$name]} -gt 0 ]] || failed[$name]=1
    return 1
  fi
  result[$name]="PASS"
}

status=0
for name in "${configs[@]}"; do
  run_config "$name" || status=1
done

total_passed=0
total_failed=0
printf '\n======== summary ========\n'
for name in "${configs[@]}"; do
  printf '%-11s %-17s %4d passed, %d failed  (%dm%02ds, %s/)\n' "$name:" "${result[$name]}" \
    "${passed[$name]}" "${failed[$name]}" $((elapsed[$name] / 60)) $((elapsed[$name] % 60)) \
    "$(config_dir "$name")"
  total_passed=$((total_passed + passed[$name]))
  total_failed=$((total_failed + failed[$name]))
done
echo "total: $total_passed passed, $total_failed failed"
exit $status
