#!/bin/sh
# bench/report.sh — run sled-bench-call with repetitions and print its
# markdown table (median ns/call, ratio and overhead vs uninstrumented).
#
# usage: bench/report.sh [-n REPS] [-s STRATEGY|all] [-b BUILD_DIR] [-q] [-- BENCHMARK_FLAGS...]
#   -n  repetitions per state (default 10)
#   -s  callops (default), list, dyntramp, or all three in turn
#   -b  build directory holding bench/sled-bench-call (default: build)
#   -q  print only the tables, not Google Benchmark's console output
# Repetitions run interleaved in random order, so that load from other
# processes weighs on every state alike.
set -eu

reps=10 strategies=callops build=build quiet=0
while getopts n:s:b:q opt; do
  case $opt in
    n) reps=$OPTARG ;;
    s) strategies=$OPTARG ;;
    b) build=$OPTARG ;;
    q) quiet=1 ;;
    *) sed -n '5,9s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "$strategies" = all ] && strategies="callops list dyntramp"

bin=$build/bench/sled-bench-call
if [ ! -x "$bin" ]; then
  echo "report.sh: $bin not found; build it with: cmake --build $build --target sled-bench-call" >&2
  exit 1
fi

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
status=0
for strategy in $strategies; do
  set -- --sled_strategy="$strategy" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true "$@"
  if [ "$quiet" = 1 ]; then
    # Only the summary line and the table that follows it; stderr (the
    # benchmark's context) only if the run failed.
    if out=$("$bin" "$@" 2>"$errors"); then :; else status=1; cat "$errors" >&2; fi
    printf '%s\n\n' "$out" | sed -n '/^sled-bench-call:/,$p'
  else
    "$bin" "$@" || status=1
    echo
  fi
  shift 4
done
exit $status
