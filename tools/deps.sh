#!/usr/bin/env bash
# The Debian 12 packages sled needs to build and test, in one place: sourced
# by tools/bootstrap.sh and .ci/run (which then call sled_install_deps), or
# run directly to install them:  bash tools/deps.sh
#
# sled_install_deps runs `apt-get update` and `apt-get install -y` (through
# sudo when not root), non-interactively. When every package is already
# installed it does nothing, so repeated runs need no network; set
# SLED_DEPS_FORCE=1 to update and install anyway.

SLED_DEPS=(
  build-essential gcc binutils   # GCC 12: C sites and the GCC-layout tests
  clang                          # default compiler; its sanitizer runtimes
  libclang-rt-14-dev             # libFuzzer (tests/robust/memory's ELF fuzz run)
  cmake ninja-build pkg-config
  libelf-dev                     # libsled reads section headers with libelf
  libgtest-dev libgmock-dev      # unit tests
  libbenchmark-dev               # bench/
  clang-format                   # tools/format.sh
  gdb                            # tests/robust/signals: patching under a debugger
  libcli11-dev libfmt-dev nlohmann-json3-dev   # the sled command (tools/sled)
  libdw-dev                      # the sled command: DWARF arguments and source lines
  tmux                           # tests/ctl: sled top in a terminal
  chromium                       # tests/cli: the flame graph in a headless browser
)
# The aarch64 cross build and qemu-user (the arm64 configuration of
# tools/test.sh, part of the default test set): needs `dpkg
# --add-architecture arm64` (done by sled_install_deps) for libelf-dev:arm64.
# SLED_DEPS_ARM64=0 leaves them out (then run: bash tools/test.sh plain asan tsan).
SLED_DEPS_ARM64_LIST=(
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu   # cross binutils, libc, libstdc++, GCC fixtures
  libasan8-arm64-cross libubsan1-arm64-cross     # arm64-asan (GCC's sanitizer runtimes)
  qemu-user                                      # qemu-aarch64 runs the tests
  libelf-dev:arm64 zlib1g-dev:arm64              # libsled's libelf, for arm64
)
if [[ ${SLED_DEPS_ARM64:-1} == 1 ]]; then
  SLED_DEPS+=("${SLED_DEPS_ARM64_LIST[@]}")
fi

# Prints the packages of SLED_DEPS that are not installed, one per line.
sled_missing_deps() {
  local p
  for p in "${SLED_DEPS[@]}"; do
    if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed; then
      echo "$p"
    fi
  done
}

sled_install_deps() {
  local -a sudo=() missing=()
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "sled deps: apt-get not found: install by hand: ${SLED_DEPS[*]}" >&2
    return 1
  fi
  mapfile -t missing < <(sled_missing_deps)
  if [[ ${#missing[@]} -eq 0 && ${SLED_DEPS_FORCE:-0} != 1 ]]; then
    echo "sled deps: all ${#SLED_DEPS[@]} packages already installed"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "sled deps: not root and no sudo: install by hand: ${missing[*]:-${SLED_DEPS[*]}}" >&2
      return 1
    fi
  fi
  echo "sled deps: installing ${missing[*]:-${SLED_DEPS[*]}}"
  if [[ ${SLED_DEPS_ARM64:-1} == 1 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${sudo[@]}" dpkg --add-architecture arm64 || return 1
  fi
  # env: sudo does not pass DEBIAN_FRONTEND through by default.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o Dpkg::Options::=--force-confold "${SLED_DEPS[@]}" </dev/null || return 1
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  sled_install_deps
fi
