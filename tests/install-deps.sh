#!/usr/bin/env bash
# Installs what `make test` needs and is not part of a fresh Rust machine. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx thumbv7m-none-eabi; then
  echo "install-deps: adding Rust target thumbv7m-none-eabi"
  rustup target add thumbv7m-none-eabi
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# Independent CoAP peers for the interoperability tests.
if ! command -v coap-client-openssl >/dev/null 2>&1; then
  echo "install-deps: installing libcoap3-bin (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq libcoap3-bin >/dev/null
fi

VENV=target/venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "install-deps: creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import aiocoap, aiocoap.oscore, cbor2, pytest' >/dev/null 2>&1; then
  echo "install-deps: installing aiocoap, cbor2, pytest (pip)"
  "$VENV/bin/pip" install -q -r tests/requirements.txt
fi

# DTLS (rust/dtls): tinydtls-sys builds vendored tinydtls with autotools and bindgen (libclang);
# the interop tests talk to openssl s_client/s_server and libcoap's coap-*-openssl.
DTLS_PKGS=""
command -v autoconf >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS autoconf"
command -v automake >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS automake"
command -v libtoolize >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS libtool"
command -v openssl >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS openssl"
command -v coap-server-openssl >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS libcoap3-bin"
dpkg -s libclang-dev >/dev/null 2>&1 || DTLS_PKGS="$DTLS_PKGS libclang-dev"
if [ -n "$DTLS_PKGS" ]; then
  echo "install-deps: installing$DTLS_PKGS (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $DTLS_PKGS >/dev/null
fi
