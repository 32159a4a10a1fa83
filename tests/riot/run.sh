#!/usr/bin/env bash
# RIOT scenario: build apps/lwm2m-client and apps/sensor-c for native64, run them (one after
# the other) on a tap interface inside a private network namespace together with the project's
# LwM2M server, and check that each registers, answers Reads, that a value set on the node's
# shell reads back, and that observations are notified end to end through gcoap (a shell
# `lwm2m set` for lwm2m-client, the C firmware's periodic ztimer for sensor-c). Also checks
# that the committed C API header is what cbindgen makes of rust/riot.
#
# Environment:
#   RIOTBASE          RIOT 2026.07 checkout (required; without it the test is skipped)
#   LWM2M_SERVER_BIN  lwm2m-server binary (default: built with cargo from this checkout)
#   TIMEOUT           seconds to wait for registration (default 30)
#   RIOT_C2C          0: do not run tests/riot/c2c.sh afterwards (default 1)
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
TIMEOUT=${TIMEOUT:-30}
NS="lwm2m-riot-$$"
HTTP_PORT=8080
WORK=$(mktemp -d)
PASS=0
FAIL=0
NODE_PID=
SRV_PID=
HOLD_PID=
EVT_PID=

cleanup() {
    # Each was started with setsid: its process group holds it and the helpers native forks
    # (which survive SIGTERM of the main process).
    stop_node
    [ -n "$SRV_PID" ] && kill -TERM -- "-$SRV_PID" 2>/dev/null
    sleep 0.5
    [ -n "$SRV_PID" ] && kill -KILL -- "-$SRV_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

stop_node() {
    local p
    [ -n "$EVT_PID" ] && kill "$EVT_PID" 2>/dev/null
    if [ -n "$NODE_PID" ]; then
        kill -TERM -- "-$NODE_PID" 2>/dev/null
        sleep 0.5
        kill -KILL -- "-$NODE_PID" 2>/dev/null
    fi
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    for p in $EVT_PID $NODE_PID $HOLD_PID; do wait "$p" 2>/dev/null; done
    EVT_PID= NODE_PID= HOLD_PID=
}

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
for app in lwm2m-client sensor-c; do
    echo "== build $app for native64"
    if ! make -C "$ROOT/apps/$app" BOARD=native64 LWM2M_SERVER_URI="$URI" -j"$(nproc)" \
            >"$WORK/build-$app.log" 2>&1; then
        tail -30 "$WORK/build-$app.log"
        echo "$PASS passed, $((FAIL + 1)) failed"
        exit 1
    fi
done

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

shell() { echo "$*" >"$WORK/stdin"; }
http_get() { ip netns exec "$NS" curl -s -m 40 "http://127.0.0.1:$HTTP_PORT$1"; }
http_post() { ip netns exec "$NS" curl -s -m 40 -X POST "http://127.0.0.1:$HTTP_PORT$1"; }
wait_for() { # pattern file seconds
    local i
    for i in $(seq "$(( $3 * 5 ))"); do
        grep -q -- "$1" "$2" && return 0
        sleep 0.2
    done
    return 1
}

# start_node <app>: runs the app's native64 ELF on tap0 with a FIFO as its shell input; sets
# NODE_LOG and EP (the endpoint it registered with).
start_node() {
    local app=$1
    NODE_LOG="$WORK/node-$app.log"
    rm -f "$WORK/stdin"
    mkfifo "$WORK/stdin"
    sleep 100000 >"$WORK/stdin" &
    HOLD_PID=$!
    ip netns exec "$NS" setsid "$ROOT/apps/$app/bin/native64/$app.elf" tap0 \
        <"$WORK/stdin" >"$NODE_LOG" 2>&1 &
    NODE_PID=$!
    check "$app registers (EVT kind=registered ssid=1)" \
        wait_for "kind=registered ssid=1" "$NODE_LOG" "$TIMEOUT"
    EP=$(sed -n "s/^$app: endpoint \([^,]*\),.*/\1/p" "$NODE_LOG")
    echo "endpoint: ${EP:-?}"
}

# watch_events: the server's event stream for $EP, from now on, into $WORK/events-$EP.log.
watch_events() {
    EVENTS="$WORK/events-$1.log"
    ip netns exec "$NS" curl -s -N -m 120 \
        "http://127.0.0.1:$HTTP_PORT/api/events?endpoint=$EP" >"$EVENTS" 2>/dev/null &
    EVT_PID=$!
    sleep 0.5
}

# notified <value> <file>: an event line with a notification carrying <value>.
notified() { grep '"event":"notification"' "$2" | grep -q -- "$1"; }

node_summary() {
    # Stack use of the threads that run engine code (for sizing CONFIG_LWM2M_THREAD_STACKSIZE
    # and GCOAP_STACK_SIZE).
    shell ps
    sleep 1
    echo "---- stacks (ps)"; grep -E "lwm2m|gcoap|main|sensor" "$NODE_LOG" | grep -E "\| *[0-9]+ *\|" || true
    echo "---- node events"; grep -o 'EVT .*' "$NODE_LOG"
    if [ "$FAIL" != 0 ]; then
        echo "---- node log"; tail -40 "$NODE_LOG"
        echo "---- server log"; tail -20 "$WORK/server.log"
    fi
}

echo "== lwm2m-client (engine objects in Rust)"
start_node lwm2m-client

check "server lists the endpoint" bash -c "[ -n '$EP' ] && ip netns exec $NS curl -s -m 5 http://127.0.0.1:$HTTP_PORT/api/clients | grep -q '$EP'"

http_get "/api/clients/$EP/3/0/0?format=text" >"$WORK/read1.json"
echo "read /3/0/0: $(cat "$WORK/read1.json")"
check "Read /3/0/0 returns the manufacturer" grep -q 'RIOT' "$WORK/read1.json"
check "node logged the Read from the server" \
    wait_for "kind=request peer=server ssid=1 method=1 path=/3/0/0 code=2.05" "$NODE_LOG" 5

shell lwm2m set /3303/0/5700 25.5
wait_for "lwm2m: set /3303/0/5700" "$NODE_LOG" 5
http_get "/api/clients/$EP/3303/0/5700?format=text" >"$WORK/read2.json"
echo "read /3303/0/5700: $(cat "$WORK/read2.json")"
check "value set on the node reads back" grep -q '25.5' "$WORK/read2.json"

# Observe through gcoap: the engine answers the Observe GET and later sends the notification
# (with the observer's token) through gcoap's client path to the server's endpoint.
watch_events lwm2m-client
http_post "/api/clients/$EP/3303/0/5700/observe?format=text" >"$WORK/observe.json"
echo "observe /3303/0/5700: $(cat "$WORK/observe.json")"
check "Observe /3303/0/5700 accepted with the current value" grep -q '25.5' "$WORK/observe.json"
shell lwm2m set /3303/0/5700 26.75
check "notification of 26.75 reaches the server (GET /api/events)" \
    bash -c "for i in \$(seq 50); do grep '\"event\":\"notification\"' '$EVENTS' | grep -q 26.75 && exit 0; sleep 0.2; done; exit 1"
grep '"event":"notification"' "$EVENTS" | head -2

shell lwm2m status
check "status shows registered with 1 observation" \
    wait_for "STATUS ep=$EP ssid=1 state=registered observations=1" "$NODE_LOG" 5
node_summary
stop_node

echo "== sensor-c (IPSO 3303 defined in C, periodic ztimer)"
start_node sensor-c
http_get "/api/clients/$EP/3303/0/5701?format=text" >"$WORK/read3.json"
echo "read /3303/0/5701: $(cat "$WORK/read3.json")"
check "Read of a C-object string resource (units) returns Cel" grep -q 'Cel' "$WORK/read3.json"
shell lwm2m set /3303/0/5700 22.25
wait_for "lwm2m: set /3303/0/5700" "$NODE_LOG" 5
http_get "/api/clients/$EP/3303/0/5700?format=text" >"$WORK/read4.json"
echo "read /3303/0/5700: $(cat "$WORK/read4.json")"
check "local write through the C write callback reads back" grep -q '22.25' "$WORK/read4.json"
watch_events sensor-c
http_post "/api/clients/$EP/3303/0/5700/observe?format=text" >"$WORK/observe2.json"
echo "observe /3303/0/5700: $(cat "$WORK/observe2.json")"
# The firmware's ztimer reads the (simulated) sensor every 5 s and reports the change.
check "ztimer-driven value change is notified" \
    bash -c "for i in \$(seq 75); do grep -q '\"event\":\"notification\"' '$EVENTS' && exit 0; sleep 0.2; done; exit 1"
grep '"event":"notification"' "$EVENTS" | head -2
ip netns exec "$NS" curl -s -m 20 -X PUT -H 'Content-Type: application/json' \
    -d '"greenhouse"' \
    "http://127.0.0.1:$HTTP_PORT/api/clients/$EP/3303/0/5750?format=text" >"$WORK/write.json"
http_get "/api/clients/$EP/3303/0/5750?format=text" >"$WORK/read5.json"
echo "write+read /3303/0/5750: $(cat "$WORK/write.json") $(cat "$WORK/read5.json")"
check "server write of Application Type reaches the C object" grep -q 'greenhouse' "$WORK/read5.json"
node_summary
stop_node

echo "$PASS passed, $FAIL failed"
trap - EXIT
cleanup

# Several nodes on a simulated radio behind a border router, and client-to-client
# (tests/riot/c2c.sh; RIOT_C2C=0 leaves it out).
C2C_RC=0
if [ "${RIOT_C2C:-1}" != 0 ]; then
    echo "== tests/riot/c2c.sh"
    bash "$ROOT/tests/riot/c2c.sh" || C2C_RC=1
fi
[ "$FAIL" = 0 ] && [ "$C2C_RC" = 0 ]
