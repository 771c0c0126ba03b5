#!/usr/bin/env bash
# Quick start: install sled's dependencies (Debian 12, apt-get; sudo when
# not root), configure and build everything in build/ (Ninja, default
# configuration), then sled's main job on the bundled demo program: record
# it with the sled command, then its profile (report), call graph and an
# interactive flame graph. (The library example, build/examples/sled-example,
# shows the C API; run it by hand.)
#   bash tools/bootstrap.sh [--no-deps]
# SLED_JOBS sets the build parallelism (default: the number of CPUs).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

install_deps=1
for arg in "$@"; do
  case $arg in
    --no-deps) install_deps=0 ;;
    -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bootstrap: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=tools/deps.sh
source "$root/tools/deps.sh"
if [[ $install_deps == 1 ]]; then
  sled_install_deps
fi

step() { printf '\n==> %s\n' "$*"; }

gen=()
if [[ ! -f build/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi
step "configure build/"
cmake -S . -B build "${gen[@]}"
step "build"
cmake --build build -j "${SLED_JOBS:-$(nproc)}"

# The sled command on the demo program (instrumented, not linked with sled):
# record it under the preload agent, then the profile and a flame graph.
sled=build/tools/sled/sled
demo=build/examples/sled-demo
if [[ -x $sled && -x $demo ]]; then
  step "$sled record -o build/demo.trace -- $demo 20"
  "$sled" record -o build/demo.trace -- "$demo" 20
  step "$sled report -d build/demo.trace"
  "$sled" report -d build/demo.trace
  step "$sled graph -d build/demo.trace --min-duration 2000"
  "$sled" graph -d build/demo.trace --min-duration 2000
  step "$sled flamegraph -d build/demo.trace -o build/demo-flamegraph.html"
  "$sled" flamegraph -d build/demo.trace -o build/demo-flamegraph.html
else
  echo "bootstrap: the sled command was not built (CLI11, fmt and nlohmann-json: tools/deps.sh)" >&2
  exit 1
fi
step "done: run the tests with 'bash tools/test.sh'"
