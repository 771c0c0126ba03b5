#!/usr/bin/env bash
# Formats sled's C and C++ sources in place with clang-format and the
# repository's .clang-format (Google, 100 columns, C++20).
#   bash tools/format.sh            rewrite the files
#   bash tools/format.sh --check    change nothing; exit 1 if a file would change
#   bash tools/format.sh [--check] PATH...   only these files or directories
# Default paths: src include tests bench examples tools. Assembly (.S) and
# everything else is left alone. CLANG_FORMAT picks the binary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

check=0
paths=()
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "format.sh: unknown option '$arg'" >&2; exit 2 ;;
    *) paths+=("$arg") ;;
  esac
done
[[ ${#paths[@]} -gt 0 ]] || paths=(src include tests bench examples tools)

clang_format=${CLANG_FORMAT:-clang-format}
command -v "$clang_format" >/dev/null 2>&1 ||
  { echo "format.sh: $clang_format not found (apt-get install clang-format)" >&2; exit 1; }

existing=()
for p in "${paths[@]}"; do
  [[ -e $p ]] && existing+=("$p")
done
[[ ${#existing[@]} -gt 0 ]] || { echo "format.sh: nothing to format"; exit 0; }

mapfile -d '' files < <(find "${existing[@]}" \( -name 'build*' -o -name '.git' \) -prune -o \
  -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.hh' -o -name '*.cpp' \
  -o -name '*.hpp' -o -name '*.cxx' -o -name '*.hxx' -o -name '*.inl' \) -print0 | sort -z)
[[ ${#files[@]} -gt 0 ]] || { echo "format.sh: no C/C++ files under ${existing[*]}"; exit 0; }

if [[ $check == 1 ]]; then
  if "$clang_format" --style=file --dry-run --Werror "${files[@]}"; then
    echo "format.sh: ${#files[@]} files formatted correctly"
  else
    echo "format.sh: files above need 'bash tools/format.sh'" >&2
    exit 1
  fi
else
  "$clang_format" --style=file -i "${files[@]}"
  echo "format.sh: formatted ${#files[@]} files"
fi
