#!/usr/bin/env bash
# perfetto_check.sh SLED PROG GOLDEN_DIR — `sled export --format perfetto`
# end to end: record cli_prog (arguments and return values captured),
# export, decode with `protoc --decode=perfetto.Trace` against
# perfetto_subset.proto (Perfetto's field numbers) and compare with
# GOLDEN_DIR/perfetto.txt; a corrupt input trace gives one error line and
# leaves no output file; a truncated one is exported up to the cut, with
# a warning. normalise() and check() are golden.sh's own, so the
# normalisation is the same; timestamps, pids and tids are normalised on top.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
sled=$(realpath "$1") prog=$(realpath "$2") golden=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
source <(sed -n -e '/^normalise() {/,/^}/p' -e '/^check() {/,/^}/p' "$here/golden.sh")

decode() {  # FILE: the decoded trace, normalised
  protoc --proto_path="$here" --decode=perfetto.Trace "$here/perfetto_subset.proto" <"$1" |
    sed -E -e 's/^( *)(timestamp|pid|tid): [0-9]+$/\1\2: <\2>/' \
           -e 's/"thread [0-9]+"/"thread <tid>"/'
  echo "protoc=${PIPESTATUS[0]}"
}

cd "$tmp" || exit 1
"$sled" record -o t1 -A '@args=1,retval' -- "$prog" 0 >/dev/null 2>&1 ||
  { echo "record failed" >&2; exit 1; }
# Written to a file, the export says nothing (no progress bar off a terminal).
check perfetto_export "$sled" export -d t1 --format perfetto -o t1.pftrace
check perfetto decode t1.pftrace
# Through a pipe: the same bytes.
"$sled" export -d t1 --format perfetto | cmp - t1.pftrace || {
  echo "perfetto: stdout differs from -o" >&2
  fails=$((fails + 1))
}
# Corrupt input: one error line, exit 1, no half-written output.
mkdir -p t5 && printf 'not a trace' >t5/trace.sled
check err_perfetto_corrupt "$sled" export -d t5 --format perfetto -o t5.pftrace
if [[ -e t5.pftrace ]]; then
  echo "perfetto: a failed export left t5.pftrace" >&2
  fails=$((fails + 1))
fi
# Truncated input (a process killed mid-trace): a warning, the calls up to
# the cut, a well-formed Perfetto trace.
# (Where the cut falls depends on the program's path, stored in the trace.)
mkdir -p t6 && head -c "$(($(stat -c %s t1/trace.sled) * 3 / 4))" t1/trace.sled >t6/trace.sled
eval "golden_$(declare -f normalise)"
normalise() { golden_normalise | sed -E 's/is cut \(.*\); reading/is cut (<where>); reading/'; }
check err_perfetto_truncated "$sled" export -d t6 --format perfetto -o t6.pftrace
if ! protoc --proto_path="$here" --decode=perfetto.Trace "$here/perfetto_subset.proto" \
  <t6.pftrace >/dev/null; then
  echo "perfetto: the truncated trace's export does not decode" >&2
  fails=$((fails + 1))
fi
exit $((fails > 0))
