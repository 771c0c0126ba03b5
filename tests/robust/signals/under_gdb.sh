#!/usr/bin/env bash
# Runs a test executable under gdb (batch mode, default signal handling) and
# fails unless the program exits normally: a patch protocol that plants int3s
# stops the program on a SIGTRAP gdb did not plant (issue 8, item 2).
#   under_gdb.sh GDB EXE [ARGS...]
set -u
gdb=$1
shift
out=$("$gdb" -nx -batch -ex run -ex 'info program' --args "$@" 2>&1)
echo "$out" | tail -n 40
if grep -Eq 'received signal|Program terminated' <<<"$out"; then
  echo "under_gdb: the program stopped on a signal under gdb" >&2
  exit 1
fi
if ! grep -Eq 'exited normally' <<<"$out"; then
  echo "under_gdb: the program did not exit normally under gdb" >&2
  exit 1
fi
