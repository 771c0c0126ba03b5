#!/usr/bin/env bash
# ctl_test.sh CASE SLED AGENT PROG GOLDEN_DIR — the control socket end to
# end (docs/control.md) on ctl_prog, a program that loops until told to
# stop. Cases:
#   golden       sled ctl list/stats/sites/filter/strategy and bad requests
#                on a program under `sled record`, outputs compared with
#                GOLDEN_DIR (pids, paths, addresses and counts normalised);
#                the filter changed live, proved by the trace's exact event
#                sequence; errors for a missing process, a process without
#                an agent, a bad pid; the socket removed at exit
#   other_user   (root) a client running as nobody is refused: by the
#                command (another user's process) and, when the file
#                system would let it reach the socket, by the agent's
#                SO_PEERCRED check
#   private_dir  the socket directory: created 0700; refused (one line, no
#                socket, the program runs on) when its mode is looser, its
#                owner another user (root), or it is a symlink; SLED_CONTROL=0
#   top          sled top in tmux: the functions with their counts on
#                screen, q quits, the shell prompt is back and the
#                terminal settings are those from before
# With SLED_GOLDEN_UPDATE=1 the expected files are rewritten instead.
set -uo pipefail
case_name=$1
here=$(dirname "$(realpath "$0")")
sled=$(realpath "$2") agent=$(realpath "$3") prog=$(realpath "$4") golden=$(realpath "$5")
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  touch "$tmp/stop" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n ${tmux_sock:-} ]] && tmux -S "$tmux_sock" kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
fails=0

die() { echo "ctl_test: $*" >&2; exit 1; }
expect() {  # DESCRIPTION, then a command that must succeed
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what" >&2
    fails=$((fails + 1))
  fi
}

# Waits (up to 30 s) until FILE exists.
wait_file() {
  for _ in $(seq 300); do [[ -e $1 ]] && return 0; sleep 0.1; done
  die "timed out waiting for $1"
}

# Starts ctl_prog in the background with the given command prefix; sets
# PID (ctl_prog's own pid: the prefix execs it or runs it as a child).
start_prog() {
  rm -f "$tmp/stop" "$tmp/ready"
  "$@" "$prog" "$tmp/stop" "$tmp/ready" >"$tmp/prog.out" 2>"$tmp/prog.err" &
  launcher=$!
  pids+=("$launcher")
  wait_file "$tmp/ready"
  PID=$(pgrep -n -f "^$prog $tmp/stop") || die "ctl_prog is not running"
}
stop_prog() {
  touch "$tmp/stop"
  wait "$launcher"
  prog_status=$?
}

# normalise() and check() are tests/cli/golden.sh's own (one source of
# truth for what varies between runs); the socket's pids, paths, counters
# and short addresses are normalised first.
source <(sed -n -e '/^normalise() {/,/^}/p' -e '/^check() {/,/^}/p' "$here/../cli/golden.sh")
extra_sed=()
eval "golden_$(declare -f normalise)"
normalise() {
  sed -E -e "s#$tmp#<tmp>#g" \
         -e "s/\\b$PID\\b/<pid>/g" \
         -e 's/0x[0-9a-f]{6,}/<addr>/g' \
         -e 's/^(events|lost|bytes_written|threads|patch_batches|sites_patched|literal_writes|grace_periods) [0-9]+$/\1 <n>/' \
         -e 's/(events|lost) [0-9]+/\1 <n>/g' \
         -e 's#/tmp/sled-[0-9]+|/run/user/[0-9]+/sled#<dir>#g' | golden_normalise
}

# Waits until the program recorded at least N more events than now.
wait_events() {
  local n=$1 start now
  start=$("$sled" ctl "$PID" stats | awk '$1 == "events" {print $2}')
  for _ in $(seq 300); do
    now=$("$sled" ctl "$PID" stats | awk '$1 == "events" {print $2}')
    ((now >= start + n)) && return 0
    sleep 0.1
  done
  die "no new events recorded"
}

case_golden() {
  start_prog "$sled" record -t function -F alpha -o t1 --
  wait_events 5
  check list "$sled" ctl "$PID" list
  check stats "$sled" ctl "$PID" stats
  check sites_alpha "$sled" ctl "$PID" sites
  # Bad requests: an error line each, nothing changed (list again).
  check err_verb "$sled" ctl "$PID" frobnicate
  check err_pattern "$sled" ctl "$PID" filter no_such_function
  check err_tracer "$sled" ctl "$PID" start no_such_tracer
  check err_running "$sled" ctl "$PID" start function
  check err_stop "$sled" ctl "$PID" stop profile
  check err_strategy "$sled" ctl "$PID" strategy bogus
  check err_session "$sled" ctl "$PID" start profile dir=elsewhere
  check err_args "$sled" ctl "$PID" list extra
  check err_profile "$sled" ctl "$PID" profile
  check list_unchanged "$sled" ctl "$PID" list
  # The filter, live: from alpha to beta.
  check filter "$sled" ctl "$PID" filter beta
  wait_events 5
  check sites_beta "$sled" ctl "$PID" sites
  check strategy "$sled" ctl "$PID" strategy list
  check list_changed "$sled" ctl "$PID" list
  local sock
  sock=$(ls /tmp/sled-"$(id -u)"/"$PID".sock "${XDG_RUNTIME_DIR:-/nonexistent}"/sled/"$PID".sock 2>/dev/null | head -1)
  [[ -S $sock ]] || die "no socket for $PID"
  stop_prog
  expect "ctl_prog exits 0 under sled record" test "$prog_status" = 0
  expect "the socket is removed at exit" test ! -e "$sock"
  # The trace: alpha's calls, then beta's, nothing else.
  "$sled" replay -d t1 | awk 'NR > 1 {print $3}' | uniq >"$tmp/sequence"
  printf 'alpha()\nbeta()\n' >"$tmp/sequence.expected"
  expect "trace is alpha* then beta*" diff -u "$tmp/sequence.expected" "$tmp/sequence"
  # Errors of the command.
  check err_no_process "$sled" ctl 4194303 list
  check err_bad_pid "$sled" ctl abc list
  sleep 60 &
  PID=$!
  pids+=("$PID")
  # A socket named after this pid can only be stale: left by an earlier
  # process with the same pid that was killed (parallel tests recycle pids).
  # `sled ctl` says so in other words; this case is the one without a file.
  rm -f "/tmp/sled-$(id -u)/$PID.sock" "${XDG_RUNTIME_DIR:-/nonexistent}/sled/$PID.sock"
  check err_no_agent "$sled" ctl "$PID" list
  # And with such a stale socket (bound, never listened on, its owner gone).
  local stale_dir=/tmp/sled-$(id -u)
  mkdir -p -m 0700 "$stale_dir"
  python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
    "$stale_dir/$PID.sock" || die "could not make a stale socket"
  check err_stale_socket "$sled" ctl "$PID" list
  rm -f "$stale_dir/$PID.sock"
  kill "$PID"
}

case_other_user() {
  if [[ $(id -u) != 0 ]]; then
    echo "skipped: needs root to run a client as another user"
    return
  fi
  cp "$sled" "$tmp/sled-client" && chmod 755 "$tmp/sled-client"
  local as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  start_prog env -u XDG_RUNTIME_DIR "$sled" record -t function -F alpha -o t1 --
  check nobody_refused "${as_nobody[@]}" "$tmp/sled-client" ctl "$PID" list
  # Even when the file system lets nobody reach the socket, the agent
  # refuses the peer (SO_PEERCRED).
  local dir=/tmp/sled-0 sock=/tmp/sled-0/$PID.sock
  chmod 0711 "$dir" && chmod 0666 "$sock"
  check nobody_peercred "${as_nobody[@]}" "$tmp/sled-client" ctl --socket "$sock" "$PID" list
  chmod 0600 "$sock" && chmod 0700 "$dir"
  check root_allowed "$sled" ctl "$PID" list
  stop_prog
}

case_private_dir() {
  local xdg=$tmp/xdg
  mkdir -p "$xdg"
  # Created 0700, owned by the process's user, the socket inside.
  start_prog env XDG_RUNTIME_DIR="$xdg" LD_PRELOAD="$agent"
  expect "directory mode 700" test "$(stat -c %a "$xdg/sled")" = 700
  expect "directory owner" test "$(stat -c %u "$xdg/sled")" = "$(id -u)"
  expect "socket in it" test -S "$xdg/sled/$PID.sock"
  check idle_list "$sled" ctl "$PID" list
  stop_prog
  expect "socket removed" test ! -e "$xdg/sled/$PID.sock"
  # Refused: one line, no socket, the program runs on (exit 0).
  refused() {  # NAME: a run refused by the directory as it is now
    local name=$1
    touch "$tmp/stop"
    PID=none
    check "$name" env XDG_RUNTIME_DIR="$xdg" LD_PRELOAD="$agent" "$prog" "$tmp/stop" "$tmp/ready"
    expect "$name: no socket" test -z "$(find "$xdg/" -name '*.sock')"
  }
  chmod 0755 "$xdg/sled"
  refused dir_mode
  chmod 0700 "$xdg/sled"
  if [[ $(id -u) == 0 ]]; then
    chown nobody "$xdg/sled"
    refused dir_owner
    chown 0 "$xdg/sled"
  else
    echo "dir_owner skipped: needs root to give the directory away"
  fi
  rm -rf "$xdg/sled" && mkdir -p "$tmp/elsewhere" && chmod 0700 "$tmp/elsewhere" &&
    ln -s "$tmp/elsewhere" "$xdg/sled"
  refused dir_symlink
  rm -f "$xdg/sled"
  touch "$tmp/stop"
  env XDG_RUNTIME_DIR="$xdg" SLED_CONTROL=0 LD_PRELOAD="$agent" "$prog" "$tmp/stop" \
    "$tmp/ready" >"$tmp/off.out" 2>&1
  expect "SLED_CONTROL=0: runs, says nothing" diff -u <(echo iterations=0) "$tmp/off.out"
  expect "SLED_CONTROL=0: no directory" test ! -e "$xdg/sled"
}

case_top() {
  tmux_sock=$tmp/tmux.sock
  local tm=(tmux -S "$tmux_sock")
  start_prog env LD_PRELOAD="$agent"
  "${tm[@]}" new-session -d -x 120 -y 30 "env PS1='prompt$ ' bash --norc --noprofile" ||
    die "tmux cannot start"
  "${tm[@]}" send-keys "stty -g > $tmp/stty.before" Enter
  wait_file "$tmp/stty.before"
  "${tm[@]}" send-keys "$sled top $PID; echo top-exit=\$?" Enter
  # Until two refreshes show alpha and beta with counts.
  local screen=""
  for _ in $(seq 150); do
    screen=$("${tm[@]}" capture-pane -p)
    if grep -Eq '^ +[0-9]+ +[0-9]+ +.* alpha$' <<<"$screen" &&
      grep -Eq '^ +[0-9]+ +[0-9]+ +.* beta$' <<<"$screen"; then
      break
    fi
    sleep 0.2
  done
  echo "$screen" >"$tmp/top.screen"
  expect "top shows its header" grep -Eq "^sled top - pid $PID  strategy callops" "$tmp/top.screen"
  expect "top shows the columns" grep -Eq 'CALLS/S +CALLS +SELF/S +SELF +FUNCTION' "$tmp/top.screen"
  expect "top shows alpha with counts" grep -Eq '^ +[0-9]+ +[1-9][0-9]* +.* alpha$' "$tmp/top.screen"
  expect "top shows beta with counts" grep -Eq '^ +[0-9]+ +[1-9][0-9]* +.* beta$' "$tmp/top.screen"
  expect "top started the profile tracer" bash -c "'$sled' ctl $PID list | grep -q '^tracer profile '"
  "${tm[@]}" send-keys q
  for _ in $(seq 100); do
    "${tm[@]}" capture-pane -p | grep -q '^top-exit=' && break
    sleep 0.1
  done
  "${tm[@]}" send-keys "stty -g > $tmp/stty.after" Enter
  wait_file "$tmp/stty.after"
  sleep 0.2
  "${tm[@]}" capture-pane -p >"$tmp/after.screen"
  expect "top exits 0 on q" grep -q '^top-exit=0$' "$tmp/after.screen"
  expect "the prompt is back" grep -q "^prompt\\$ stty -g" "$tmp/after.screen"
  expect "the alternate screen is left" bash -c "! grep -q CALLS/S '$tmp/after.screen'"
  expect "terminal settings restored" diff "$tmp/stty.before" "$tmp/stty.after"
  check top_after_list "$sled" ctl "$PID" list
  expect "top's scratch trace removed" test -z "$(ls -d /tmp/sled-*/"$PID".top "${XDG_RUNTIME_DIR:-/nonexistent}"/sled/"$PID".top 2>/dev/null)"
  # SIGTERM: the terminal is restored too.
  "${tm[@]}" send-keys "$sled top $PID; echo top-exit=\$?" Enter
  local top_pid=""
  for _ in $(seq 100); do
    top_pid=$(pgrep -n -f "^$sled top $PID") && break
    sleep 0.1
  done
  [[ -n $top_pid ]] || die "sled top did not start"
  sleep 1.5
  kill -TERM "$top_pid"
  for _ in $(seq 100); do
    [[ $("${tm[@]}" capture-pane -p | grep -c '^top-exit=') == 2 ]] && break
    sleep 0.1
  done
  rm -f "$tmp/stty.after"
  "${tm[@]}" send-keys "stty -g > $tmp/stty.after" Enter
  wait_file "$tmp/stty.after"
  sleep 0.2
  expect "terminal settings restored after SIGTERM" diff "$tmp/stty.before" "$tmp/stty.after"
  check top_after_term_list "$sled" ctl "$PID" list
  stop_prog
}

case "$case_name" in
  golden) case_golden ;;
  other_user) case_other_user ;;
  private_dir) case_private_dir ;;
  top) case_top ;;
  *) die "unknown case '$case_name'" ;;
esac
exit $((fails > 0))
