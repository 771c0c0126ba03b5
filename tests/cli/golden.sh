#!/usr/bin/env bash
# golden.sh SLED PROG GOLDEN_DIR ARGS_PROG GCC_PROG FLAGS5_PROG — the sled
# command end to end, uftrace's
# way: record cli_prog, run each reading subcommand, normalise what varies
# between runs (durations, timestamps, thread ids, the trace's size and
# time), and compare with the expected output in GOLDEN_DIR. With
# SLED_GOLDEN_UPDATE=1 the expected files are rewritten instead.
set -uo pipefail
sled=$(realpath "$1") prog=$(realpath "$2") golden=$(realpath "$3") args_prog=$(realpath "$4")
gcc_prog=$(realpath "$5") flags5_prog=$(realpath "$6")
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
         -e 's#/([^ /]+/)*([^ /]+\.c:[0-9]+)#\2#g' \
         -e 's/ +$//' "${extra_sed[@]}"
}
extra_sed=()

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
# DWARF: arguments and return values by name and type, source lines.
check dwarf_record "$sled" --color=never record -o t6 -A '@args,retval' -- "$args_prog"
check dwarf_replay "$sled" --color=never replay -d t6
check dwarf_graph "$sled" --color=never graph -d t6 --srcline
check report_srcline "$sled" --color=never report -d t6 -s calls --srcline
objcopy --strip-debug "$args_prog" "$tmp/args_prog.nodebug"
# (Two words and three functions: words past a function's own arguments
# hold whatever the caller and the exit hook left there.)
check nodebug_record "$sled" --color=never record -o t7 -F parse_field -F is_sep -F span_end \
  -A '@args=2,retval' -- "$tmp/args_prog.nodebug"
check nodebug_graph "$sled" --color=never graph -d t7 --srcline
# A program rebuilt after the recording (another build-id at the same
# path): its DWARF is not used, one warning says why, values stay raw.
cp "$args_prog" "$tmp/args_prog.rebuilt"
"$sled" record -o t10 -F parse_field -A 'parse_field@args=2,retval' -- "$tmp/args_prog.rebuilt" \
  >/dev/null 2>&1
cp "$prog" "$tmp/args_prog.rebuilt"
extra_sed=(-e 's#[^ ]*/args_prog.rebuilt#<tmp>/args_prog.rebuilt#'
  -e 's/build-id [0-9a-f]+ in the trace, [0-9a-f]+ on disk/build-id <id> in the trace, <id> on disk/')
check rebuilt_graph "$sled" --color=never graph -d t10 --srcline
extra_sed=()
# A program without patchable functions: refused before it runs.
check err_not_instrumented "$sled" record -o t8 -- true
# sites: the program's patchable functions (addresses vary with the build).
extra_sed=(-e 's/ +0x[0-9a-f]+  /  <addr>  /')
check sites "$sled" sites "$prog"
check sites_summary "$sled" sites --summary "$args_prog"
check sites_gcc "$sled" sites "$gcc_prog"
check sites_wrong_flags "$sled" sites "$flags5_prog"
check sites_wrong_flags_summary "$sled" sites --summary "$flags5_prog"
check err_sites_plain "$sled" sites true
check err_sites_no_pid "$sled" sites 999999999
# sites PID: live states from the agent's control socket, and a process
# without an agent (the files its maps name, state unknown).
# (Waits of up to 30 s: sanitizer builds on a loaded machine start slowly.)
child_of() {  # the pid of $1's child, once it exists
  local c i
  for i in $(seq 3000); do
    c=$(cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}')
    [[ -n $c ]] && { echo "$c"; return; }
    sleep 0.01
  done
}
"$sled" record -o t9 -F 'leaf' -- "$prog" 0 0 "$tmp/go" >/dev/null 2>&1 &
rec=$!
pid=$(child_of "$rec")
for i in $(seq 3000); do
  "$sled" ctl "$pid" list >/dev/null 2>&1 && break
  sleep 0.01
done
check sites_pid "$sled" sites "$pid"
check sites_pid_summary "$sled" sites --summary "$pid"
touch "$tmp/go" && wait "$rec"
"$prog" 0 0 "$tmp/go2" >/dev/null &
plain=$!
for i in $(seq 3000); do  # until the loader has mapped its libraries
  grep -q 'libc\.so' "/proc/$plain/maps" 2>/dev/null && break
  sleep 0.01
done
check sites_pid_no_agent "$sled" sites "$plain"
touch "$tmp/go2" && wait "$plain"
extra_sed=()
exit $((fails > 0))
