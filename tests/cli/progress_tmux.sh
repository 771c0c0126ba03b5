#!/usr/bin/env bash
# progress_tmux.sh SLED PROG [FORMAT] — the progress bar as a user sees
# it: `sled export --format FORMAT` (perfetto, the default, or chrome)
# runs in a tmux pane and writes into a FIFO this script holds without
# reading, so the export stops mid-way (pipe full) with its bar on the
# screen: capture-pane must show it. Then the FIFO is drained, and the
# finished pane must show the command's end and no trace of the bar.
# (That nothing reaches non-terminal output is the golden tests' part.)
set -uo pipefail
sled=$(realpath "$1") prog=$(realpath "$2") format=${3:-perfetto}
unit=events  # what the bar counts: perfetto, events; chrome, calls
[[ $format == chrome ]] && unit=calls
tmp=$(mktemp -d)
sock="sled-progress-$$"
drain=
cleanup() {
  [[ -n $drain ]] && kill "$drain" 2>/dev/null
  tmux -L "$sock" kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
# 20,000 calls: ~1 MB of Perfetto output (2 MB of JSON), far more than a
# pipe holds.
"$sled" record -o big -- "$prog" 0 20000 >/dev/null 2>&1 || { echo "record failed" >&2; exit 1; }
mkfifo out.fifo
exec 3<>out.fifo  # a reader that reads nothing yet: the export blocks once the pipe is full
tmux -L "$sock" new-session -d -x 120 -y 10 \
  "'$sled' export -d big --format $format -o out.fifo; echo EXPORT-DONE=\$?; sleep 600"
pane() { tmux -L "$sock" capture-pane -p -t 0; }
bar='sled: export \[[#.]{30}\] +[0-9]+% [0-9]+/[0-9]+ '$unit
seen=
for _ in $(seq 100); do
  if pane | grep -Eq "$bar"; then
    seen=1
    break
  fi
  sleep 0.1
done
if [[ -z $seen ]]; then
  echo "progress: no bar on the terminal while the export runs; the pane:" >&2
  pane >&2
  exit 1
fi
echo "while running: $(pane | grep -Eo "$bar")"
cat <&3 >/dev/null &
drain=$!
done_=
for _ in $(seq 200); do
  if pane | grep -q 'EXPORT-DONE='; then
    done_=1
    break
  fi
  sleep 0.1
done
final=$(pane)
if [[ -z $done_ ]] || ! grep -q 'EXPORT-DONE=0' <<<"$final"; then
  echo "progress: the export did not finish with status 0; the pane:" >&2
  echo "$final" >&2
  exit 1
fi
if grep -q 'sled: export' <<<"$final"; then
  echo "progress: the bar was not erased at the end; the pane:" >&2
  echo "$final" >&2
  exit 1
fi
echo "at the end: $(grep 'EXPORT-DONE' <<<"$final")"
