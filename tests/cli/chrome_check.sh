#!/usr/bin/env bash
# chrome_check.sh SLED PROG GOLDEN_DIR — `sled export --format chrome` end
# to end: record cli_prog (function_graph with arguments and a return
# value; function, entries only) and export. The document, split one event
# a line (the bytes otherwise as written: key order, number and string
# forms), is compared with GOLDEN_DIR/chrome_*.txt, times, pids and tids
# normalised; stdout and -o give the same bytes; every export parses as
# JSON (python3). A function whose name holds a quote, a backslash, control
# characters and bytes that are not UTF-8 (written into a recorded trace's
# symbol table, its CRC made right) still gives valid JSON, with U+FFFD for
# the bad bytes. normalise() and check() are golden.sh's own.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
sled=$(realpath "$1") prog=$(realpath "$2") golden=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
source <(sed -n -e '/^normalise() {/,/^}/p' -e '/^check() {/,/^}/p' "$here/golden.sh")
extra_sed=()
fail() {
  echo "chrome: $*" >&2
  fails=$((fails + 1))
}

events() {  # FILE: one event a line, times, pids and tids normalised
  sed -E -e 's/\},\{"/},\n{"/g' \
         -e 's/"(ts|dur)":[-+.e0-9]+/"\1":<t>/g' \
         -e 's/"(pid|tid)":[0-9]+/"\1":<\1>/g' \
         -e 's/"thread [0-9]+"/"thread <tid>"/g' "$1"
}

cd "$tmp" || exit 1
"$sled" record -o t1 -A '@args=1,retval' -- "$prog" 0 >/dev/null 2>&1 ||
  { echo "record failed" >&2; exit 1; }
"$sled" record -o t2 -t function -- "$prog" 0 >/dev/null 2>&1 ||
  { echo "record failed" >&2; exit 1; }
# Written to a file, the export says nothing (no progress bar off a terminal).
check chrome_export "$sled" export -d t1 --format chrome -o t1.json
check chrome_graph events t1.json
"$sled" export -d t2 --format chrome -o t2.json || fail "export of t2 failed"
check chrome_function events t2.json
"$sled" export -d t1 --format chrome | cmp - t1.json || fail "stdout differs from -o"
# A name no C compiler would give: middle -> "\<SOH><LF><FF><FE> (as many
# bytes), in every symbol record of the trace, each record's CRC-32C redone.
python3 - t1/trace.sled <<'PY' || fail "cannot rewrite the trace"
import struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
raw = bytearray(open(sys.argv[1], "rb").read())
pos, changed = 0, 0
while pos + 16 <= len(raw):
    magic, rtype, flags, size, _ = struct.unpack_from("<IHHII", raw, pos)
    assert magic == 0x52544C53, "bad record magic"
    payload = bytes(raw[pos + 16:pos + 16 + size])
    if rtype == 5 and b"middle" in payload:
        payload = payload.replace(b"middle", b'"\\\x01\n\xff\xfe')
        raw[pos + 16:pos + 16 + size] = payload
        struct.pack_into("<I", raw, pos + 12, crc32c(raw[pos + 4:pos + 12] + payload))
        changed += 1
    pos += 16 + size
assert changed, "no symbol record names middle"
open(sys.argv[1], "wb").write(raw)
PY
check chrome_odd_name "$sled" export -d t1 --format chrome -o odd.json
# Every export parses (strict UTF-8); the odd name comes back as written,
# U+FFFD for each bad byte. (One python3 run: starting it can be slow.)
python3 - t1.json t2.json odd.json <<'PY' || fail "not valid JSON, or the odd name is not there"
import json, sys
docs = [json.load(open(path, encoding="utf-8")) for path in sys.argv[1:]]
names = {e["name"] for e in docs[-1]["traceEvents"]}
want = '"\\\x01\n\ufffd\ufffd'
assert want in names, sorted(names)
PY
exit $((fails > 0))
