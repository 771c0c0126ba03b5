#!/usr/bin/env bash
# Builds and runs tests/install/consumer against an installed sled with
# find_package(sled): both sled::sled and sled::sled_static, instrumented
# with sled_instrument().
#   find_package.sh <cmake> <prefix> <consumer-src> <work-dir> <c-compiler> [generator] [config]
set -euo pipefail
cmake_cmd=$1 prefix=$2 src=$3 work=$4 cc=$5 generator=${6:-} config=${7:-RelWithDebInfo}

fail() { echo "find_package: FAIL: $*" >&2; exit 1; }

rm -rf "$work"
args=(-S "$src" -B "$work"
      -DCMAKE_PREFIX_PATH="$prefix"
      -DCMAKE_C_COMPILER="$cc"
      -DCMAKE_BUILD_TYPE="$config"
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
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
  echo "+ $path"
  if "$path"; then echo "$exe: OK"; else echo "$exe: FAILED (exit $?)" >&2; status=1; fi
done
exit $status
