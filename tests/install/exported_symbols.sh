#!/usr/bin/env bash
# libsled.so lives inside other people's processes: it must export its C API
# (sled_*) and nothing else, so no internal symbol can clash with or
# interpose on the host program's. Lists every defined dynamic symbol that is
# not sled_* (linker-made markers such as _init/_fini allowed, and dlopen /
# dlclose / dlmopen, which src/core/dl_hooks.cc interposes on purpose, and
# backtrace / _Unwind_Backtrace, from src/core/graph_backtrace.cc). With
# --sanitized, typeinfo objects are allowed too: UBSan's -fsanitize=function
# emits weak default-visibility typeinfo for function types.
#   exported_symbols.sh [--sanitized] <libsled.so>
set -euo pipefail
allow='sled_[A-Za-z0-9_]*|dlopen|dlclose|dlmopen|backtrace|_Unwind_Backtrace|_init|_fini|_edata|_end|__bss_start'
if [[ ${1:-} == --sanitized ]]; then
  allow+='|_ZTI[A-Za-z0-9_]*|_ZTS[A-Za-z0-9_]*'
  shift
fi
lib=$1
command -v nm >/dev/null || { echo "exported_symbols: nm not found" >&2; exit 1; }
[[ -f $lib ]] || { echo "exported_symbols: FAIL: $lib does not exist" >&2; exit 1; }

syms=$(nm -D --defined-only "$lib" | awk '{print $NF}')
[[ -n $syms ]] || { echo "exported_symbols: FAIL: $lib exports nothing" >&2; exit 1; }
extra=$(grep -Ev "^($allow)(@.*)?\$" <<<"$syms" || true)
if [[ -n $extra ]]; then
  echo "exported_symbols: FAIL: $lib exports symbols outside the sled_* API:" >&2
  if command -v c++filt >/dev/null; then c++filt <<<"$extra"; else echo "$extra"; fi | sed 's/^/  /' >&2
  exit 1
fi
echo "exported_symbols: OK: $(wc -l <<<"$syms") symbols, all sled_* or allowed"
