#!/usr/bin/env bash
# Builds and runs tests/install/consumer/consumer.c against an installed sled
# with nothing but a compiler and pkg-config, the way a Makefile would:
#   cc $(pkg-config --variable=instrument_flags sled) $(pkg-config --cflags sled) \
#      consumer.c $(pkg-config --libs sled)
# once against libsled.so and once statically against libsled.a
# (pkg-config --static), with every compiler given.
#   pkg_config.sh <prefix> <consumer-src> <work-dir> <c-compiler>...
set -euo pipefail
prefix=$1 src=$2 work=$3
shift 3
compilers=("$@")
[[ ${#compilers[@]} -gt 0 ]] || compilers=(cc)

fail() { echo "pkg_config: FAIL: $*" >&2; exit 1; }

command -v pkg-config >/dev/null || fail "pkg-config not found"
pc=$(find "$prefix" -path '*/pkgconfig/sled.pc' -print -quit)
[[ -n $pc ]] || fail "no sled.pc under $prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

pkg-config --exists --print-errors sled || fail "pkg-config cannot use $pc"
[[ $(pkg-config --variable=prefix sled) == "$prefix" ]] ||
  fail "pkg-config found a sled.pc with prefix $(pkg-config --variable=prefix sled)"
flags=$(pkg-config --variable=instrument_flags sled)
case $(uname -m) in
  x86_64) want="-fpatchable-function-entry=13,8 -falign-functions=16" ;;
  aarch64) want="-fpatchable-function-entry=4,2 -falign-functions=8" ;;
  *) want=$flags ;;
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
for cc in "${compilers[@]}"; do
  tag=$(basename "$cc")
  command -v "$cc" >/dev/null || fail "compiler $cc not found"
  for kind in shared static; do
    exe=$work/consumer_${tag}_$kind
    if [[ $kind == shared ]]; then
      cmd=("$cc" "${flags_a[@]}" "${cflags_a[@]}" -O2 -g "$src/consumer.c" -o "$exe" "${libs_a[@]}"
           "-Wl,-rpath,$libdir")
    else
      cmd=("$cc" "${flags_a[@]}" "${cflags_a[@]}" -O2 -g "$src/consumer.c" -o "$exe" "${static_libs_a[@]}")
    fi
    echo "+ ${cmd[*]}"
    "${cmd[@]}" || fail "$tag/$kind: build failed"
    readelf -SW "$exe" | grep -F __patchable_function_entries >/dev/null ||
      fail "$tag/$kind: no __patchable_function_entries (instrument_flags not applied)"
    needed=$(readelf -d "$exe" | grep -c 'NEEDED.*libsled' || true)
    if [[ $kind == shared && $needed -eq 0 ]]; then fail "$tag/$kind does not load libsled.so"; fi
    if [[ $kind == static && $needed -ne 0 ]]; then fail "$tag/$kind loads libsled.so"; fi
    echo "+ $exe"
    if "$exe"; then echo "$tag/$kind: OK"; else echo "$tag/$kind: FAILED (exit $?)" >&2; status=1; fi
  done
done
exit $status
