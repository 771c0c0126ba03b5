#!/usr/bin/env bash
# Builds and runs tests/install/consumer against an installed sled with
# find_package(sled): both sled::sled and sled::sled_static, instrumented
# with sled_instrument(). For a cross build, --toolchain configures the
# consumer with sled's toolchain file and --emulator runs the programs under
# the emulator (a command of space-separated words, e.g. "qemu-aarch64 -L
# /usr/aarch64-linux-gnu").
#   find_package.sh [--toolchain <file>] [--emulator <command>]
#                   <cmake> <prefix> <consumer-src> <work-dir> <c-compiler> [generator] [config]
set -euo pipefail

fail() { echo "find_package: FAIL: $*" >&2; exit 1; }

toolchain=
emulator=()
while [[ ${1:-} == --* ]]; do
  [[ $# -ge 2 ]] || fail "$1 needs a value"
  case $1 in
    --toolchain) toolchain=$2 ;;
    --emulator) read -r -a emulator <<<"$2" ;;
    *) fail "unknown option $1" ;;
  esac
  shift 2
done
cmake_cmd=$1 prefix=$2 src=$3 work=$4 cc=$5 generator=${6:-} config=${7:-RelWithDebInfo}

rm -rf "$work"
args=(-S "$src" -B "$work"
      -DCMAKE_PREFIX_PATH="$prefix"
      -DCMAKE_C_COMPILER="$cc"
      -DCMAKE_BUILD_TYPE="$config"
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if [[ -n $toolchain ]]; then
  [[ -f $toolchain ]] || fail "toolchain file $toolchain does not exist"
  args+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")
fi
[[ -n $generator ]] && args+=(-G "$generator")
echo "+ $cmake_cmd ${args[*]}"
"$cmake_cmd" "${args[@]}"

# The package found must be the one just installed, not a system copy.
sled_dir=$(sed -n 's/^sled_DIR:[A-Z]*=//p' "$work/CMakeCache.txt")
case $sled_dir in
  "$prefix"/*) echo "found sled in $sled_dir" ;;
  *) fail "find_package(sled) used '$sled_dir', not the package under $prefix" ;;
esac

"$cmake_cmd" --build "$work" --config "$config" -j 2

status=0
for exe in consumer_shared consumer_static; do
  path=$(find "$work" -type f -name "$exe" -perm -u+x -print -quit)
  [[ -n $path ]] || fail "$exe was not built"
  if ! readelf -SW "$path" | grep -F __patchable_function_entries >/dev/null; then
    fail "$exe has no __patchable_function_entries: sled_instrument() did not apply"
  fi
  needed=$(readelf -d "$path" | grep -c 'NEEDED.*libsled' || true)
  if [[ $exe == consumer_shared && $needed -eq 0 ]]; then fail "$exe does not load libsled.so"; fi
  if [[ $exe == consumer_static && $needed -ne 0 ]]; then fail "$exe loads libsled.so"; fi
  echo "+ ${emulator[*]}${emulator[*]:+ }$path"
  if "${emulator[@]}" "$path"; then echo "$exe: OK"; else echo "$exe: FAILED (exit $?)" >&2; status=1; fi
done
exit $status
