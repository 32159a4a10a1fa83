#!/usr/bin/env bash
# RIOT scenario: build apps/lwm2m-client for native64, run it on a tap interface inside a
# private network namespace together with the project's LwM2M server, and check that the
# client registers, answers a Read, and that a value set on the node's shell reads back.
#
# Environment:
#   RIOTBASE          RIOT 2026.07 checkout (required; without it the test is skipped)
#   LWM2M_SERVER_BIN  lwm2m-server binary (default: built with cargo from this checkout)
#   TIMEOUT           seconds to wait for registration (default 30)
# Needs root (or CAP_NET_ADMIN) for the namespace and the tap device; skipped otherwise.
# Everything else (toolchains, c2rust, git settings for RIOT's packages) comes from the
# environment the caller provides.
set -u

if [ -z "${RIOTBASE:-}" ]; then
    echo "SKIP: RIOTBASE not set"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root for a network namespace with a tap interface"
    exit 0
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP="$ROOT/apps/lwm2m-client"
TIMEOUT=${TIMEOUT:-30}
NS="lwm2m-riot-$$"
HTTP_PORT=8080
WORK=$(mktemp -d)
PASS=0
FAIL=0
NODE_PID=
SRV_PID=
HOLD_PID=

cleanup() {
    # Each was started with setsid: its process group holds it and the helpers native forks
    # (which survive SIGTERM of the main process).
    local g
    for g in $NODE_PID $SRV_PID; do kill -TERM -- "-$g" 2>/dev/null; done
    sleep 0.5
    for g in $NODE_PID $SRV_PID; do kill -KILL -- "-$g" 2>/dev/null; done
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

check() { # name, command...
    local name=$1
    shift
    if "$@"; then
        echo "ok: $name"
        PASS=$((PASS + 1))
    else
        echo "FAIL: $name"
        FAIL=$((FAIL + 1))
    fi
}

# The committed C API header must match what cbindgen makes of rust/riot now.
if command -v "${CBINDGEN:-cbindgen}" >/dev/null; then
    check "lwm2m_c2c_api.h matches rust/riot (cbindgen)" \
        make -s --no-print-directory -C "$ROOT/c_glue/lwm2m_c2c" check-header
else
    echo "SKIP: cbindgen not installed (cargo install cbindgen --locked): header not checked"
fi

# native64 numbers its first (tap) interface 6.
URI='coap://[fe80::1%6]:5683'
echo "== build lwm2m-client for native64"
if ! make -C "$APP" BOARD=native64 LWM2M_SERVER_URI="$URI" -j"$(nproc)" >"$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log"
    echo "0 passed, 1 failed"
    exit 1
fi
ELF="$APP/bin/native64/lwm2m-client.elf"

SERVER=${LWM2M_SERVER_BIN:-}
if [ -z "$SERVER" ]; then
    echo "== build lwm2m-server"
    (cd "$ROOT" && cargo build -q -p lwm2m-server --release) || { echo "0 passed, 1 failed"; exit 1; }
    SERVER="${CARGO_TARGET_DIR:-$ROOT/target}/release/lwm2m-server"
fi

echo "== network namespace $NS with tap0 (host side fe80::1)"
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip tuntap add tap0 mode tap
ip netns exec "$NS" sysctl -qw net.ipv6.conf.tap0.accept_dad=0
# Only fe80::1 on the host side: with a second (EUI-64) link-local address the server may
# answer from an address the client did not send to, and gcoap drops such responses.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.tap0.addr_gen_mode=1
ip netns exec "$NS" ip link set tap0 up
ip netns exec "$NS" ip addr add fe80::1/64 dev tap0

ip netns exec "$NS" setsid "$SERVER" --no-stdin --coap '[::]:5683' \
    --http "127.0.0.1:$HTTP_PORT" >"$WORK/server.log" 2>&1 &
SRV_PID=$!

mkfifo "$WORK/stdin"
sleep 100000 >"$WORK/stdin" &
HOLD_PID=$!
ip netns exec "$NS" setsid "$ELF" tap0 <"$WORK/stdin" >"$WORK/node.log" 2>&1 &
NODE_PID=$!

shell() { echo "$*" >"$WORK/stdin"; }
http_get() { ip netns exec "$NS" curl -s -m 40 "http://127.0.0.1:$HTTP_PORT$1"; }
wait_for() { # pattern file seconds
    local i
    for i in $(seq "$(( $3 * 5 ))"); do
        grep -q -- "$1" "$2" && return 0
        sleep 0.2
    done
    return 1
}

check "client registers (EVT kind=registered ssid=1)" \
    wait_for "kind=registered ssid=1" "$WORK/node.log" "$TIMEOUT"
EP=$(sed -n 's/^lwm2m-client: endpoint \([^,]*\),.*/\1/p' "$WORK/node.log")
echo "endpoint: ${EP:-?}"

check "server lists the endpoint" bash -c "[ -n '$EP' ] && ip netns exec $NS curl -s -m 5 http://127.0.0.1:$HTTP_PORT/api/clients | grep -q '$EP'"

http_get "/api/clients/$EP/3/0/0?format=text" >"$WORK/read1.json"
echo "read /3/0/0: $(cat "$WORK/read1.json")"
check "Read /3/0/0 returns the manufacturer" grep -q 'RIOT' "$WORK/read1.json"
check "node logged the Read from the server" \
    wait_for "kind=request peer=server ssid=1 method=1 path=/3/0/0 code=2.05" "$WORK/node.log" 5

shell lwm2m set /3303/0/5700 25.5
wait_for "lwm2m: set /3303/0/5700" "$WORK/node.log" 5
http_get "/api/clients/$EP/3303/0/5700?format=text" >"$WORK/read2.json"
echo "read /3303/0/5700: $(cat "$WORK/read2.json")"
check "value set on the node reads back" grep -q '25.5' "$WORK/read2.json"

shell lwm2m status
check "status shows registered" wait_for "STATUS ep=$EP ssid=1 state=registered" "$WORK/node.log" 5

# Stack use of the threads that run engine code (for sizing CONFIG_LWM2M_THREAD_STACKSIZE and
# GCOAP_STACK_SIZE).
shell ps
sleep 1
echo "---- stacks (ps)"; grep -E "lwm2m|gcoap|main" "$WORK/node.log" | grep -E "\| *[0-9]+ *\|" || true
echo "---- node events"; grep -o 'EVT .*' "$WORK/node.log"
if [ "$FAIL" != 0 ]; then
    echo "---- node log"; tail -40 "$WORK/node.log"
    echo "---- server log"; tail -20 "$WORK/server.log"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
