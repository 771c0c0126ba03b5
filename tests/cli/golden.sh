#!/usr/bin/env bash
# golden.sh SLED PROG GOLDEN_DIR — the sled command end to end, uftrace's
# way: record cli_prog, run each reading subcommand, normalise what varies
# between runs (durations, timestamps, thread ids, the trace's size and
# time), and compare with the expected output in GOLDEN_DIR. With
# SLED_GOLDEN_UPDATE=1 the expected files are rewritten instead.
set -uo pipefail
sled=$(realpath "$1") prog=$(realpath "$2") golden=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

normalise() {
  sed -E -e 's/ *[0-9]+(\.[0-9]+)? (ns|us|ms| s)\b/ <dur>/g' \
         -e 's/^ *[0-9]+\.[0-9]{6}  +[0-9]+  /<ts> <tid>  /' \
         -e 's/# thread [0-9]+/# thread <tid>/' \
         -e 's/0x[0-9a-f]{8,}/<addr>/g' \
         -e 's/recorded [0-9]+ events/recorded N events/' \
         -e 's/[0-9.]+ KiB in [^,]+, [0-9.]+ s/<size> in <dir>, <time>/' \
         -e 's/ +$//'
}

check() {  # NAME, then the command whose stdout+stderr is compared
  local name=$1
  shift
  "$@" >"$tmp/$name.raw" 2>&1
  echo "exit=$?" >>"$tmp/$name.raw"
  normalise <"$tmp/$name.raw" >"$tmp/$name.out"
  if [[ ${SLED_GOLDEN_UPDATE:-0} == 1 ]]; then
    cp "$tmp/$name.out" "$golden/$name.txt"
  elif ! diff -u "$golden/$name.txt" "$tmp/$name.out"; then
    echo "golden: $name differs (above)" >&2
    fails=$((fails + 1))
  fi
}

cd "$tmp" || exit 1
check record_graph "$sled" --color=never record -o t1 -A 'add3@args=1,retval' -- "$prog" 0
check graph "$sled" --color=never graph -d t1
check graph_function "$sled" --color=never graph -d t1 middle
check replay "$sled" --color=never replay -d t1
check report_calls "$sled" --color=never report -d t1 -s calls
check record_status "$sled" --color=never record -o t2 -t function -F 'leaf' -- "$prog" 3
check report_function "$sled" --color=never report -d t2 -s calls
check record_profile "$sled" --color=never record -o t3 -t profile -- "$prog" 0
check report_profile "$sled" --color=never report -d t3 -s calls -n 3
# Bad input: one clear error, non-zero exit.
check err_no_program "$sled" record -o t4 -- ./no-such-program
check err_no_trace "$sled" report -d no-such-trace
check err_unknown_option "$sled" report --no-such-option
check err_bad_sort "$sled" report -d t1 -s nonsense
printf 'not a trace' >"$tmp/bogus.trace" && mkdir -p t5 && cp "$tmp/bogus.trace" t5/trace.sled
check err_corrupt "$sled" graph -d t5
check version "$sled" --version
exit $((fails > 0))
