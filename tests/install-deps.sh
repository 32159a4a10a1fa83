#!/usr/bin/env bash
# Installs what the build and the tests need and is not part of a fresh Rust machine.
# Idempotent. `install-deps.sh build` installs only what building the host crates needs
# (`make demo`); `install-deps.sh bench` that plus valgrind for the instruction counts of
# `make bench` (optional: if it cannot be installed, the reason is printed and the script still
# succeeds); `install-deps.sh eval` what building needs plus the Python venv (matplotlib for the
# figures of `make eval`); without argument everything `make test` needs.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-all}

APT_PKGS=""
want() { # command-or-package check, package
  if [ "${1#dpkg:}" != "$1" ]; then
    dpkg -s "${1#dpkg:}" >/dev/null 2>&1 || APT_PKGS="$APT_PKGS $2"
  else
    command -v "$1" >/dev/null 2>&1 || APT_PKGS="$APT_PKGS $2"
  fi
}

# The Debian packages this mode needs that are not there yet, into APT_PKGS.
missing() {
  APT_PKGS=""
  # Build: tinydtls-sys (rust/dtls) builds vendored tinydtls with autotools and bindgen (libclang).
  want autoconf autoconf
  want automake automake
  want libtoolize libtool
  want dpkg:libclang-dev libclang-dev
  if [ "$MODE" = all ]; then
    # test-thumb: liboscore's build script runs bindgen, which asks the `clang` driver for the
    # thumbv7m-none-eabi include paths (without it clang's own stdint.h is not found), and
    # compiles liboscore's C sources with arm-none-eabi-gcc (cc-rs).
    want clang clang
    want arm-none-eabi-gcc gcc-arm-none-eabi
    # Independent peers: libcoap's coap-client/-server (CoAP and DTLS), openssl s_client/s_server.
    want coap-client-openssl libcoap3-bin
    want openssl openssl
  fi
}

missing
if [ -n "$APT_PKGS" ]; then
  echo "install-deps: installing$APT_PKGS (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  { apt-get update -qq && apt-get install -y -qq $APT_PKGS >/dev/null; } || true
  # Say clearly what is still missing (not root, no apt, a failed install) instead of letting
  # a build fail later with a compiler message.
  missing
  if [ -n "$APT_PKGS" ]; then
    echo "install-deps: missing Debian packages:$APT_PKGS; install them as root with" \
      "apt-get install$APT_PKGS" >&2
    exit 1
  fi
fi
[ "$MODE" = build ] && exit 0

if [ "$MODE" = bench ]; then
  command -v valgrind >/dev/null 2>&1 && exit 0
  why=""
  if [ "$(id -u)" != 0 ]; then
    why="not root, apt-get cannot install packages"
  elif ! command -v apt-get >/dev/null 2>&1; then
    why="no apt-get on this system"
  else
    echo "install-deps: installing valgrind (apt)"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }; then
      why="apt-get install valgrind failed"
    fi
  fi
  if [ -n "$why" ]; then
    echo "install-deps: valgrind not installed ($why); make bench skips instruction counts"
  fi
  exit 0
fi

if [ "$MODE" = all ]; then
  if ! rustup target list --installed | grep -qx thumbv7m-none-eabi; then
    echo "install-deps: adding Rust target thumbv7m-none-eabi"
    rustup target add thumbv7m-none-eabi
  fi
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
fi

VENV=target/venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "install-deps: creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import aiocoap, aiocoap.oscore, cbor2, pytest, DTLSSocket, matplotlib' \
    >/dev/null 2>&1; then
  echo "install-deps: installing aiocoap, cbor2, pytest, DTLSSocket, matplotlib (pip)"
  # `python -m pip`: the venv's own interpreter, even if the venv directory was copied.
  "$VENV/bin/python" -m pip install -q -r tests/requirements.txt
fi
