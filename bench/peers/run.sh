#!/usr/bin/env bash
# bench/peers/run.sh — sled next to LLVM XRay and uftrace, in one run.
# Times the uftrace workloads (sled-peers-uftrace-pg, -pfe) with and without
# `uftrace record`, then runs sled-bench-peers (sled and XRay, measured in
# one process) with those figures, which prints the markdown tables (empty
# handlers; recorded calls; patching next to XRay), then, when built,
# sled-bench-call's rows (a traced call next to the floors F1-F3, direct
# calls, the parts of a recorded call; same repetitions) and
# sled-bench-grace (grace periods under load, sync vs async unregister).
#   bash bench/peers/run.sh [BUILD_DIR [REPS [CALLS]]]
# BUILD_DIR defaults to build/ (targets sled-bench-peers, sled-peers-uftrace-pg
# and sled-peers-uftrace-pfe must be built), REPS to 7, CALLS (per uftrace
# run) to 1,000,000. Installs uftrace with apt-get when missing and run as
# root; without uftrace its rows say n/a.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
reps=${2:-7}
calls=${3:-1000000}
bin=$build/bench/peers

for t in sled-bench-peers sled-peers-uftrace-pg sled-peers-uftrace-pfe; do
  [[ -x $bin/$t ]] || {
    echo "run.sh: $bin/$t missing: cmake --build $build --target $t" >&2
    exit 1
  }
done

if ! command -v uftrace >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "run.sh: installing uftrace" >&2
  apt-get install -y uftrace >/dev/null 2>&1 || echo "run.sh: apt-get install uftrace failed" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# uftrace_figures KIND [UFTRACE OPTIONS...]: "WITH,PLAIN,WITHOUT" (medians,
# ns/call), or nothing when uftrace fails. The workload prints
# "<plain ns/call> <instrumented ns/call>".
uftrace_figures() {
  local kind=$1
  shift
  local prog=$bin/sled-peers-uftrace-$kind with=() plain=() without=() out
  for ((i = 0; i < reps; i++)); do
    out=$("$prog" "$calls") || return 0
    without+=("${out#* }")
    rm -rf "$tmp/data"
    out=$(uftrace record -d "$tmp/data" "$@" "$prog" "$calls" 2>"$tmp/uftrace.err") || {
      echo "run.sh: uftrace record $* failed: $(head -c 300 "$tmp/uftrace.err")" >&2
      return 0
    }
    plain+=("${out% *}")
    with+=("${out#* }")
  done
  echo "$(printf '%s\n' "${with[@]}" | median),$(printf '%s\n' "${plain[@]}" | median),$(printf '%s\n' "${without[@]}" | median)"
}

args=(--reps="$reps")
if command -v uftrace >/dev/null 2>&1; then
  args+=(--uftrace-version="$(uftrace --version | awk '{print $1, $2}')")
  echo "run.sh: uftrace, -pg build ($reps x $calls calls)" >&2
  pg=$(uftrace_figures pg)
  [[ -n $pg ]] && args+=(--uftrace-pg="$pg")
  echo "run.sh: uftrace -P ., patchable-entry build" >&2
  pfe=$(uftrace_figures pfe -P .)
  [[ -n $pfe ]] && args+=(--uftrace-pfe="$pfe")
else
  echo "run.sh: uftrace not installed (apt-get install uftrace): its rows will say n/a" >&2
fi
echo "run.sh: sled and XRay" >&2
status=0
"$bin/sled-bench-peers" "${args[@]}" || status=$?

# call_rows PROGRAM TITLE FILTER: sled-bench-call's table for the rows
# FILTER matches (bench/call_overhead.cc), medians of interleaved samples.
call_rows() {
  local prog=$build/bench/$1
  if [[ ! -x $prog ]]; then
    echo "run.sh: $prog not built (Google Benchmark missing?): no '$2' table" >&2
    return
  fi
  echo "run.sh: $1, $2" >&2
  echo
  # Three times the repetitions, each shorter (0.1 s): the rows' samples
  # interleave more finely, so a slow phase of this shared machine falls on
  # every row alike instead of on a few.
  echo "### $2 ($1, $((reps * 3)) repetitions of 0.1 s, interleaved)"
  "$prog" --benchmark_filter="$3" --benchmark_min_time=0.1 \
    --benchmark_repetitions="$((reps * 3))" --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true 2>"$tmp/call.err" >"$tmp/call.out" || {
    status=1
    cat "$tmp/call.err" >&2
  }
  sed -n '/^sled-bench-call:/,$p' "$tmp/call.out"
}

# A traced call next to its floors F1-F3, direct calls, and the parts of a
# recorded call: uninstrumented, empty ops, + timestamp, function tracer;
# graph ops declined, hooked, + timestamps, + the recorder's lookups,
# function_graph tracer. Then the same call rows with libsled linked in.
call_rows sled-bench-call "a traced call next to its floors, and the parts of a recorded call" \
  '^(1_|2_|3_one_ops$|3r_|3s_|5_|D_|3t_|3f_|6_|7_|8_|8w_|9_|F1_|F2_|F3_)'
call_rows sled-bench-call-static "a traced call next to its floors, libsled linked in" \
  '^(1_|2_|3_one_ops$|3r_|3s_|5_|D_|F1_|F2_|F3_)'

# Grace-period latency with 0, 1 and 2 threads calling a traced function,
# and 1,000 ops unregistered synchronously vs asynchronously (issue 11 §4).
grace=$build/bench/sled-bench-grace
if [[ -x $grace ]]; then
  echo "run.sh: sled-bench-grace, grace periods under load" >&2
  echo
  "$grace" || status=1
else
  echo "run.sh: $grace not built: no grace-period table" >&2
fi
exit $status
