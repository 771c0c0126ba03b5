#!/usr/bin/env bash
# Installs a built sled tree into a fresh prefix (the fixture of the
# find_package and pkg-config tests) and checks the layout of what landed.
#   install_prefix.sh <cmake> <build-dir> <prefix> [config]
set -euo pipefail
cmake_cmd=$1 build=$2 prefix=$3 config=${4:-}

fail() { echo "install_prefix: FAIL: $*" >&2; exit 1; }

rm -rf "$prefix"
args=(--install "$build" --prefix "$prefix")
[[ -n $config ]] && args+=(--config "$config")
echo "+ $cmake_cmd ${args[*]}"
"$cmake_cmd" "${args[@]}"

# What a consumer needs, wherever GNUInstallDirs put the library directory.
[[ -f $prefix/include/sled/sled.h ]] || fail "include/sled/sled.h not installed"
config_file=$(find "$prefix" -path '*/cmake/sled/sledConfig.cmake' -print -quit)
[[ -n $config_file ]] || fail "no lib*/cmake/sled/sledConfig.cmake under $prefix"
cmakedir=$(dirname "$config_file")
for f in sledConfigVersion.cmake sledTargets.cmake SledInstrument.cmake; do
  [[ -f $cmakedir/$f ]] || fail "$cmakedir/$f not installed"
done
pc=$(find "$prefix" -path '*/pkgconfig/sled.pc' -print -quit)
[[ -n $pc ]] || fail "no lib*/pkgconfig/sled.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
for f in libsled.a libsled.so; do
  [[ -e $libdir/$f ]] || fail "$libdir/$f not installed"
done
ls "$libdir"/libsled.so.* >/dev/null 2>&1 || fail "no versioned libsled.so.* in $libdir"
grep -q "^prefix=$prefix\$" "$pc" || fail "sled.pc does not name the install prefix: $(grep '^prefix=' "$pc")"
if grep -q '@' "$pc"; then fail "unsubstituted @VAR@ left in $pc"; fi

echo "install_prefix: OK ($prefix)"
find "$prefix" \( -type f -o -type l \) | sed "s|^$prefix/|  |" | sort
