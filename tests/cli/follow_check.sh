#!/usr/bin/env bash
# follow_check.sh SLED FOLLOW_PROG GOLDEN_DIR — `sled record --follow` and
# the reading subcommands on a multi-process trace directory: follow_prog
# runs a copy of itself (fork + exec), then forks a child that does not
# exec. Without --follow only the started process is traced and the
# children's output is untouched; with it each child records into
# DIR/pid-<PID>/, every reading subcommand shows the three processes
# labelled by pid, and --pid picks one. normalise() and check()
# are golden.sh's; pids are normalised on top.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
sled=$(realpath "$1") prog=$(realpath "$2") golden=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
source <(sed -n -e '/^normalise() {/,/^}/p' -e '/^check() {/,/^}/p' "$here/golden.sh")
eval "golden_$(declare -f normalise)"
# (LeakSanitizer's note at the exit of a child forked from a threaded
# process, under ASan, is not sled's output: dropped, as tests/agent does.)
normalise() {
  grep -Ev '^==[0-9]+==Running thread [0-9]+ was not suspended\. False leaks are possible\.$' |
    golden_normalise | sed -E -e 's/# process [0-9]+ thread [0-9]+/# process <pid> thread <tid>/' \
    -e 's/# process [0-9]+/# process <pid>/' \
    -e 's/^follow_prog \[[0-9]+\](.*) [0-9]+$/follow_prog [<pid>]\1 <ns>/' \
    -e 's/processes: [0-9, ]+/processes: <pids>/'
}
fail() {
  echo "follow: $*" >&2
  fails=$((fails + 1))
}

cd "$tmp" || exit 1
# Without --follow: one process; the child ran untraced, its output and exit
# status passed to the parent unchanged.
check follow_off "$sled" --color=never record -o t0 -- "$prog"
[[ -z $(ls -d t0/pid-* 2>/dev/null) ]] || fail "without --follow, a child trace was written"
check follow_off_report "$sled" --color=never report -d t0 -s calls

check follow_record "$sled" --color=never record --follow -o t1 -- "$prog"
children=($(ls -d t1/pid-* 2>/dev/null | sed 's/.*pid-//' | sort -n))
[[ ${#children[@]} == 2 ]] || fail "with --follow, expected two t1/pid-N, got '${children[*]}'"
child=${children[0]}  # the exec'ed copy: forked first (unless pids wrapped)
check follow_report "$sled" --color=never report -d t1 -s calls
check follow_graph "$sled" --color=never graph -d t1
check follow_replay "$sled" --color=never replay -d t1
check follow_folded "$sled" export -d t1 --format folded
check follow_pid "$sled" --color=never graph -d t1 --pid "$child"
check err_follow_pid "$sled" report -d t1 --pid 1
# A second recording into the same directory does not keep the first's
# children.
"$sled" record -o t1 -- "$prog" >/dev/null 2>&1
[[ -z $(ls -d t1/pid-* 2>/dev/null) ]] || fail "a new recording kept an old pid-N/"
exit $((fails > 0))
