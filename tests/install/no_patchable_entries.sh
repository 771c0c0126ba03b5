#!/usr/bin/env bash
# The runtime must never trace itself: no object of libsled may be compiled
# with -fpatchable-function-entry (nor carry the patchable_function_entry
# attribute), so neither library file may hold a __patchable_function_entries
# section. readelf -S lists the sections of every member of an archive.
#   no_patchable_entries.sh <library-file>...
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 <library-file>..." >&2; exit 2; }
command -v readelf >/dev/null || { echo "no_patchable_entries: readelf not found" >&2; exit 1; }

status=0
for lib in "$@"; do
  if [[ ! -f $lib ]]; then
    echo "no_patchable_entries: FAIL: $lib does not exist" >&2; status=1; continue
  fi
  out=$(readelf -SW "$lib" 2>&1) || { echo "$out" >&2; echo "no_patchable_entries: FAIL: readelf $lib" >&2; status=1; continue; }
  grep -q 'Section Headers' <<<"$out" || { echo "no_patchable_entries: FAIL: no section headers read from $lib" >&2; status=1; continue; }
  # Name the archive members (or the file) that carry the section.
  bad=$(awk -v lib="$lib" '/^File: /{f=$2} /__patchable_function_entries/{print (f ? f : lib)}' <<<"$out" | sort -u)
  if [[ -n $bad ]]; then
    echo "no_patchable_entries: FAIL: __patchable_function_entries in:" >&2
    while IFS= read -r member; do echo "  $member"; done <<<"$bad" >&2
    status=1
  else
    echo "no_patchable_entries: OK: $lib"
  fi
done
exit $status
