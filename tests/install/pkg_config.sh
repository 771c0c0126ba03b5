#!/usr/bin/env bash
# Builds and runs tests/install/consumer/consumer.c against an installed sled
# with nothing but a compiler and pkg-config, the way a Makefile would:
#   cc $(pkg-config --variable=instrument_flags sled) $(pkg-config --cflags sled) \
#      consumer.c $(pkg-config --libs sled)
# once against libsled.so and once statically against libsled.a
# (pkg-config --static), with every compiler given. A compiler is one
# argument, a command with its options (e.g. "clang --target=aarch64-linux-gnu").
# --arch names the target processor (CMAKE_SYSTEM_PROCESSOR; default: this
# machine's `uname -m`): instrument_flags must be sled's patch-site flags for
# it. For a cross build, --pc-libdir replaces pkg-config's default search
# path with the target's .pc directories (PKG_CONFIG_LIBDIR) and --emulator
# runs the programs under the emulator (a command of space-separated words).
#   pkg_config.sh [--arch <processor>] [--pc-libdir <dir>[:<dir>...]] [--emulator <command>]
#                 <prefix> <consumer-src> <work-dir> <c-compiler>...
set -euo pipefail

fail() { echo "pkg_config: FAIL: $*" >&2; exit 1; }

arch=$(uname -m)
emulator=()
while [[ ${1:-} == --* ]]; do
  [[ $# -ge 2 ]] || fail "$1 needs a value"
  case $1 in
    --arch) arch=$2 ;;
    --pc-libdir) export PKG_CONFIG_LIBDIR=$2 ;;
    --emulator) read -r -a emulator <<<"$2" ;;
    *) fail "unknown option $1" ;;
  esac
  shift 2
done
prefix=$1 src=$2 work=$3
shift 3
compilers=("$@")
[[ ${#compilers[@]} -gt 0 ]] || compilers=(cc)

command -v pkg-config >/dev/null || fail "pkg-config not found"
pc=$(find "$prefix" -path '*/pkgconfig/sled.pc' -print -quit)
[[ -n $pc ]] || fail "no sled.pc under $prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

pkg-config --exists --print-errors sled || fail "pkg-config cannot use $pc"
[[ $(pkg-config --variable=prefix sled) == "$prefix" ]] ||
  fail "pkg-config found a sled.pc with prefix $(pkg-config --variable=prefix sled)"
flags=$(pkg-config --variable=instrument_flags sled)
# The processor names sled's CMake accepts (CMakeLists.txt, SledInstrument.cmake).
case $arch in
  x86_64|AMD64) want="-fpatchable-function-entry=13,8 -falign-functions=16" ;;
  aarch64|arm64) want="-fpatchable-function-entry=4,2 -falign-functions=8" ;;
  *) fail "unsupported architecture '$arch' (sled builds for x86_64 and aarch64)" ;;
esac
[[ $flags == "$want" ]] || fail "instrument_flags is '$flags', expected '$want'"
cflags=$(pkg-config --cflags sled)
libs=$(pkg-config --libs sled)
libdir=$(pkg-config --variable=libdir sled)
# Static: the same -l flags, with libsled itself taken from libsled.a.
static_libs=$(pkg-config --static --libs sled | sed 's/\(^\| \)-lsled\( \|$\)/\1-Wl,-Bstatic -lsled -Wl,-Bdynamic\2/')
echo "instrument_flags: $flags"
echo "cflags: $cflags"
echo "libs: $libs"
echo "static libs: $static_libs"
# pkg-config prints lists of words: split them into arrays once.
read -r -a flags_a <<<"$flags"
read -r -a cflags_a <<<"$cflags"
read -r -a libs_a <<<"$libs"
read -r -a static_libs_a <<<"$static_libs"

rm -rf "$work"
mkdir -p "$work"
status=0
for spec in "${compilers[@]}"; do
  read -r -a cc <<<"$spec"
  [[ ${#cc[@]} -gt 0 ]] || fail "empty compiler command"
  tag=$(basename "${cc[0]}")
  command -v "${cc[0]}" >/dev/null || fail "compiler ${cc[0]} not found"
  for kind in shared static; do
    exe=$work/consumer_${tag}_$kind
    if [[ $kind == shared ]]; then
      cmd=("${cc[@]}" "${flags_a[@]}" "${cflags_a[@]}" -O2 -g "$src/consumer.c" -o "$exe" "${libs_a[@]}"
           "-Wl,-rpath,$libdir")
    else
      cmd=("${cc[@]}" "${flags_a[@]}" "${cflags_a[@]}" -O2 -g "$src/consumer.c" -o "$exe" "${static_libs_a[@]}")
    fi
    echo "+ ${cmd[*]}"
    "${cmd[@]}" || fail "$tag/$kind: build failed"
    readelf -SW "$exe" | grep -F __patchable_function_entries >/dev/null ||
      fail "$tag/$kind: no __patchable_function_entries (instrument_flags not applied)"
    needed=$(readelf -d "$exe" | grep -c 'NEEDED.*libsled' || true)
    if [[ $kind == shared && $needed -eq 0 ]]; then fail "$tag/$kind does not load libsled.so"; fi
    if [[ $kind == static && $needed -ne 0 ]]; then fail "$tag/$kind loads libsled.so"; fi
    echo "+ ${emulator[*]}${emulator[*]:+ }$exe"
    if "${emulator[@]}" "$exe"; then echo "$tag/$kind: OK"; else echo "$tag/$kind: FAILED (exit $?)" >&2; status=1; fi
  done
done
exit $status
