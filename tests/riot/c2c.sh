#!/usr/bin/env bash
# RIOT multi-node scenario on native64 (issue 5): LwM2M nodes on a simulated IEEE 802.15.4
# radio (socket_zep, 6LoWPAN) reach the project's LwM2M server through our border router
# (apps/border-router: 6LBR with the ZEP radio and a tap uplink), all inside a private network
# namespace this script creates and removes:
#
#   node A, node B, ... --(ZEP hub: tests/riot/zep_hub.py on [::1])-- border router --tap0--
#   lwm2m-server
#   radio prefix 2001:db8:1::/64 (advertised by the border router, SLAAC + 6LoWPAN-ND)
#   tap prefix   2001:db8::/64: border router 2001:db8::2, server 2001:db8::1 (netns side)
#
# Step 1: two apps/lwm2m-client nodes (USE_ZEP=1, LWM2M_SERVER_URI=coap://[2001:db8::1]:5683)
#   register through the border router, the server reads /3/0/0 from each (HTTP API), the
#   nodes ping each other over the radio (link-local: one hop; global: through the border
#   router), the namespace pings a node through the border router; with LWM2M_FOTA=file the
#   server pushes 100 KB of firmware to node a in 256-byte Block1 blocks over the radio, stored
#   byte for byte (C2C_FOTA=0 leaves it out; the time is printed, never asserted).
# Step 2 (when apps/c2c-host and apps/c2c-requester exist with the module's `lwm2m c2c` shell
#   command; skipped with a message otherwise): the server runs with a policy allowing the pair
#   and `--c2c-security oscore` (psk with C2C_SECURITY=psk); the requester runs `lwm2m c2c
#   observe <host-ep> <host-uri> <path>`. Checks: the unauthorized request is answered 4.01
#   with an owner-server hint, the access request gets 2.01, the server installs the accounts,
#   notifications reach the requester (EV notification_rx lines). The per-notification delay (host value_produced ->
#   requester notification_rx, from the EV timestamps) is reported, never asserted.
# Step 3 (with step 2): the server-centric baseline side by side, in the same run: a third node
#   (apps/baseline-client) registers, the server relays the host's sensor value to its Set
#   Point /3308/0/5900 (POST /api/relays: the server observes the host and writes each value),
#   after the requester left (one flow at a time on the simulated radio). Checks: the relay starts and the
#   baseline node receives the values (EV value_rx). The delay of each relayed value (host
#   value_produced -> baseline value_rx) is reported next to the C2C delay, never asserted.
#
# Every check prints `ok: ...` or `FAIL: ...`; the exit status is non-zero on a failure.
#
# Environment:
#   RIOTBASE          RIOT 2026.07 checkout (required; without it the test is skipped)
#   LWM2M_SERVER_BIN  lwm2m-server binary (default: built with cargo from this checkout)
#   TIMEOUT           seconds to wait for a registration (default 60)
#   C2C_HOST_URI      URI the requester uses for the host (default: the host's global address,
#                     the address the server knows it by)
#   C2C_PERIOD_MS     the host's sensor period in step 2 (default 1000)
#   C2C_STEPS         which steps to run (default 1234; 234: only the client-to-client steps)
#   C2C_FOTA          0: no Firmware Update push in step 1 (default 1)
#   C2C_SECURITY      oscore (default) | psk: what the server distributes (`--c2c-security`);
#                     psk builds c2c-host and c2c-requester with LWM2M_DTLS=1 and without
#                     OSCORE, every app into apps/<app>/bin/native64-zep[-router]-dtls; the
#                     requester's protected requests then go over DTLS (EV c2c_request ...
#                     dtls, the host's EVT kind=request peer=dtls-client)
#   C2C_HOP_SECONDS   seconds per route setting in step 4 (default 6 periods + 2)
#   C2C_VALUES        distinct values each flow of steps 2 and 3 waits for before it is checked
#                     (default 3; then 3 periods more); the delays are reported over them
#   C2C_FORWARDERS    N (default 0): steps 2 and 3 with N apps/forwarder nodes between the
#                     clients and the border router, the paper's Fig. 6 chain. The medium's
#                     topology (zep_hub.py --topology) lets the border router hear forwarder 1
#                     only, forwarder i its neighbours i-1 and i+1, and the clients (host,
#                     requester, baseline) forwarder N and each other. Forwarder i takes its
#                     prefix from i-1's Router Advertisement and advertises it on
#                     (FORWARDER_RA=1), the clients take forwarder N as their router
#                     (6LoWPAN-ND), and static /128 routes on the border router and on
#                     forwarders 1..N-1 lead down to each client. The client-to-client traffic
#                     goes requester -> forwarder N -> host whatever N (6LoWPAN-ND hosts send
#                     everything through their router; with N = 0 that router is the border
#                     router), the server-centric relay through all N forwarders both ways.
#                     Not with steps 1 and 4 (their nodes assume one collision domain).
#   ZEP_HUB_ARGS      more options of the medium (tests/riot/zep_hub.py --help), e.g. a loss
#                     rate: ZEP_HUB_ARGS='--loss 0.1 --seed 7'
#   ZEP_AIRTIME       1 (default): the hub gives each frame its 802.15.4 air time, one frame at a
#                     time; 0: forwards at once (faster, less realistic)
#   C2C_KEEP          a directory: the nodes' logs (<name>.log, <name>.stamped), the server's
#                     and the medium's are copied there at the end (tests/eval's riot backend
#                     reads them); without it they go with the temporary directory
# Needs root (or CAP_NET_ADMIN) for the namespace and the tap; skipped otherwise. The firmware
# is built into apps/<app>/bin/native64-zep[-router] (a separate cargo target from the tap build of
# run.sh: switching USE_ZEP in one bin directory leaves riot-sys with stale bindings).
set -u

# shellcheck source=tests/riot/common.sh
. "$(dirname "$0")/common.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/riot"
TIMEOUT=${TIMEOUT:-60}
PERIOD_MS=${C2C_PERIOD_MS:-1000}
NS="lwm2m-c2c-$$"
HTTP_PORT=8080
ZEP_PORT=17754
SERVER_ADDR=2001:db8::1
BR_ADDR=2001:db8::2
RADIO_PREFIX=2001:db8:1::/64
URI="coap://[$SERVER_ADDR]:5683"
WORK=$(mktemp -d)
PASS=0
FAIL=0
STEPS=${C2C_STEPS:-1234}
FWD=${C2C_FORWARDERS:-0}
VALUES=${C2C_VALUES:-3}
[[ $VALUES =~ ^[1-9][0-9]*$ ]] || { echo "C2C_VALUES must be a positive number, not '$VALUES'"; exit 2; }
if ! [[ $FWD =~ ^[0-9]$ ]]; then
    echo "C2C_FORWARDERS must be a number from 0 to 9, not '$FWD'"; exit 2
fi
if [ "$FWD" -gt 0 ] && [[ $STEPS == *[14]* ]]; then
    echo "C2C_FORWARDERS=$FWD runs steps 2 and 3 only: set C2C_STEPS=23 (not $STEPS)"; exit 2
fi
EUI_BR=00:5a:45:50:0a:00:00:fe
EUI_H=00:5a:45:50:0a:00:00:11
EUI_R=00:5a:45:50:0a:00:00:12
EUI_BASE=00:5a:45:50:0a:00:00:13
fw_eui() { echo "00:5a:45:50:0a:00:00:3$1"; }
SECURITY=${C2C_SECURITY:-oscore}
case $SECURITY in
    oscore) C2C_BUILD=(LWM2M_OSCORE=1) BIN_SUFFIX= ;;
    psk) C2C_BUILD=(LWM2M_DTLS=1 LWM2M_OSCORE=0) BIN_SUFFIX=-dtls ;;
    *) echo "C2C_SECURITY must be oscore or psk, not '$SECURITY'"; exit 2 ;;
esac
GROUPS_RUNNING=() # process groups (setsid; started with `ip netns exec` directly, so that $! is
                  # the group's leader) to stop at the end
HOLDS=()          # writers that keep the nodes' shell FIFOs open

cleanup() {
    local g
    for g in "${GROUPS_RUNNING[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
    sleep 0.5
    for g in "${GROUPS_RUNNING[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    for g in "${HOLDS[@]}"; do kill "$g" 2>/dev/null; done
    for g in "${GROUPS_RUNNING[@]}" "${HOLDS[@]}"; do wait "$g" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    if [ -n "${C2C_KEEP:-}" ]; then
        mkdir -p "$C2C_KEEP" && cp "$WORK"/*.log "$WORK"/*.stamped "$C2C_KEEP"/ 2>/dev/null
    fi
    rm -rf "$WORK"
    give_back "$ROOT"
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

finish() {
    # Whatever step the run stopped at: any assertion on any node fails it.
    check "no node hit an assertion (all steps)" no_assertion
    if [ -n "${HUB_GROUP:-}" ]; then
        kill -TERM -- "-$HUB_GROUP" 2>/dev/null
        sleep 0.5
        echo "---- radio medium: $(grep -E "^zep_hub: frames=" "$WORK/hub.log" | tail -1)"
    fi
    [ -f "$WORK/pings.txt" ] && sed 's/^/---- /' "$WORK/pings.txt"
    [ -f "$WORK/flows.txt" ] && sed 's/^/---- /' "$WORK/flows.txt"
    [ -f "$WORK/hops.txt" ] && sed 's/^/---- /' "$WORK/hops.txt"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
    exit
}

wait_for() { # pattern file seconds
    local i
    for i in $(seq "$(( $3 * 5 ))"); do
        grep -Eq -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

hub_snapshot() { # prints the medium's counters now (zep_hub.py on SIGUSR1), empty if none came
    local before i
    before=$(grep -c '^zep_hub: snapshot ' "$WORK/hub.log")
    kill -USR1 -- "-$HUB_GROUP" 2>/dev/null || return 0
    for i in $(seq 25); do
        [ "$(grep -c '^zep_hub: snapshot ' "$WORK/hub.log")" -gt "$before" ] && break
        sleep 0.2
    done
    grep '^zep_hub: snapshot ' "$WORK/hub.log" | sed -n "$((before + 1))p"
}

counter() { # name line: the value of name=N in a counters line
    grep -o "\b$1=[0-9]*" <<<"$2" | cut -d= -f2
}

wait_fn() { # function seconds: until the function succeeds
    local i
    for i in $(seq "$(( $2 * 5 ))"); do
        "$1" && return 0
        sleep 0.2
    done
    return 1
}

declare -A BIN # app -> its bin directory under apps/<app>/bin
build() { # app [make variables...]
    local app=$1
    shift
    echo "== build $app for native64 (USE_ZEP=1 $*)"
    # A build with other modules gets a bin directory (and cargo target) of its own.
    BIN[$app]=native64-zep
    [[ " $* " == *" LWM2M_ROUTER=1 "* ]] && BIN[$app]=native64-zep-router
    [[ " $* " == *" FORWARDER_RA=1 "* ]] && BIN[$app]=native64-zep-ra
    # Another module set (vfs): a directory of its own, so that neither build is redone.
    [[ " $* " == *" LWM2M_FOTA=file "* ]] && BIN[$app]=native64-zep-fota
    BIN[$app]=${BIN[$app]}$BIN_SUFFIX
    if ! make -C "$ROOT/apps/$app" BOARD=native64 USE_ZEP=1 BINDIR="$ROOT/apps/$app/bin/${BIN[$app]}" \
            LWM2M_SERVER_URI="$URI" "$@" -j"$(nproc)" >"$WORK/build-$app.log" 2>&1; then
        tail -30 "$WORK/build-$app.log"
        echo "FAIL: build $app"
        FAIL=$((FAIL + 1))
        return 1
    fi
}

in_ns() { ip netns exec "$NS" "$@"; }
http_get() { in_ns curl -s -m 40 "http://127.0.0.1:$HTTP_PORT$1"; }

# start_node <name> <app> <eui64> [args...]: runs the app's ZEP firmware with a FIFO as its
# shell input; its output goes to $WORK/<name>.log and, each line stamped with the host's
# monotonic clock, to $WORK/<name>.stamped (tests/riot/evlog.py).
start_node() {
    local name=$1 app=$2 eui=$3
    shift 3
    mkfifo "$WORK/$name.in"
    sleep 100000 >"$WORK/$name.in" &
    HOLDS+=($!)
    # In $WORK: native64's VFS (the Firmware Update file backend) keeps its files in ./nvm0.
    mkdir -p "$WORK/nvm0"
    ip netns exec "$NS" setsid bash -c 'log=$1; shift; cd "${log%/*}" && "$@" 2>&1 | python3 "$0" tee "$log.log" "$log.stamped"' \
        "$HERE/evlog.py" "$WORK/$name" "$ROOT/apps/$app/bin/${BIN[$app]:-native64-zep}/$app.elf" \
        -z "[::1]:$ZEP_PORT" --eui64="$eui" "$@" <"$WORK/$name.in" &
    GROUPS_RUNNING+=($!)
}
# shell <name> <command...>: one line to a node's shell. native's stdin buffer holds 64 bytes
# (STDIO_RX_BUFSIZE) and drops what does not fit, so long lines go in pieces.
shell() {
    local line="${*:2}" i
    for ((i = 0; i < ${#line}; i += 32)); do
        printf '%s' "${line:i:32}" >"$WORK/$1.in"
        sleep 0.05
    done
    printf '\n' >"$WORK/$1.in"
}

# node_ifconfig <name>: sets IFACE (the radio interface number) and GADDR (the global address
# from the border router's prefix) of a node, from its `ifconfig`.
node_ifconfig() {
    local n
    n=$(grep -Ec "Iface +[0-9]+" "$WORK/$1.log")
    shell "$1" ifconfig
    count_at_least "$((n + 1))" "Iface +[0-9]+" "$WORK/$1.log" 5
    sleep 0.3
    IFACE=$(grep -Eo "Iface +[0-9]+" "$WORK/$1.log" | tail -1 | grep -Eo "[0-9]+")
    GADDR=$(grep -Eo "inet6 addr: 2001:db8:1:[0-9a-f:]+" "$WORK/$1.log" | tail -1 | cut -d' ' -f3)
    LLADDR=$(grep -Eo "inet6 addr: fe80:[0-9a-f:]+" "$WORK/$1.log" | tail -1 | cut -d' ' -f3)
}

# ping_from <name> <addr>: RIOT's shell ping; true when at least one reply came back.
ping_from() {
    local n
    n=$(grep -c "packets transmitted" "$WORK/$1.log")
    shell "$1" ping -c 3 -i 300 "$2"
    count_at_least "$((n + 1))" "packets transmitted" "$WORK/$1.log" 15 || return 1
    grep "packets transmitted" "$WORK/$1.log" | tail -1 | sed "s|^|ping $1 -> $2: |" |
        tee -a "$WORK/pings.txt" | grep -Eq ", [1-9][0-9]* packets received"
}

no_assertion() {
    local f
    for f in "$WORK"/*.log; do
        case $f in */build-*|*/hub.log|*/server.log|*/events.log) continue ;; esac
        [ -f "$f" ] && grep -q "FAILED ASSERTION" "$f" && { echo "assertion in $(basename "$f")"; return 1; }
    done
    return 0
}

# wait_flow <host> <receiver> <rx kind> <n> <seconds>: until the receiver got n distinct values
# of the host's (copies of one value count once).
wait_flow() {
    local i
    for i in $(seq "$(( $5 * 5 ))"); do
        python3 "$HERE/evlog.py" flow "$WORK/$1.stamped" "$WORK/$2.stamped" --rx-kind "$3" \
            --min-distinct "$4" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
# flow_check <host> <receiver> <rx kind> <label>: the figures of one flow (distinct values,
# duplicates, losses, into $WORK/flows.txt); fails with fewer than 3 distinct values or any
# value delivered to the application twice.
flow_check() {
    python3 "$HERE/evlog.py" flow "$WORK/$1.stamped" "$WORK/$2.stamped" --rx-kind "$3" \
        --label "$4" --min-distinct 3 --max-duplicates 0 | tee -a "$WORK/flows.txt"
    return "${PIPESTATUS[0]}"
}

registered_ep() { # ep: the server lists it
    http_get /api/clients | grep -q "\"$1\""
}

# ---------------------------------------------------------------------------------------------
build border-router || finish
if [[ $STEPS == *1* ]]; then build lwm2m-client LWM2M_FOTA=file || finish; fi

SERVER=${LWM2M_SERVER_BIN:-}
if [ -z "$SERVER" ]; then
    echo "== build lwm2m-server"
    (cd "$ROOT" && cargo build -q -p lwm2m-server --release) || { echo "FAIL: build lwm2m-server"; FAIL=$((FAIL + 1)); finish; }
    SERVER="${CARGO_TARGET_DIR:-$ROOT/target}/release/lwm2m-server"
fi

echo "== network namespace $NS: tap0 ($SERVER_ADDR, fe80::1), route $RADIO_PREFIX via $BR_ADDR"
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip tuntap add tap0 mode tap
in_ns sysctl -qw net.ipv6.conf.tap0.accept_dad=0
# Only fe80::1 as link-local address on the host side (the border router's default router).
in_ns sysctl -qw net.ipv6.conf.tap0.addr_gen_mode=1
in_ns sysctl -qw net.ipv6.conf.tap0.accept_ra=0
in_ns ip link set tap0 up
in_ns ip addr add fe80::1/64 dev tap0
in_ns ip addr add "$SERVER_ADDR/64" dev tap0 nodad
in_ns ip -6 route add "$RADIO_PREFIX" via "$BR_ADDR" dev tap0

HUB_ARGS=()
[ "${ZEP_AIRTIME:-1}" = 0 ] && HUB_ARGS=(--no-airtime)
# shellcheck disable=SC2206 # words on purpose: `--loss 0.1 --seed 7`
HUB_ARGS+=(${ZEP_HUB_ARGS:-})
if [ "$FWD" -gt 0 ]; then
    # The Fig. 6 chain: border router - forwarder 1 - ... - forwarder N - {clients}.
    {
        prev=$EUI_BR
        for i in $(seq "$FWD"); do echo "$prev $(fw_eui "$i")"; prev=$(fw_eui "$i"); done
        for c in "$EUI_H" "$EUI_R" "$EUI_BASE"; do echo "$prev $c"; done
        echo "$EUI_H $EUI_R"; echo "$EUI_H $EUI_BASE"; echo "$EUI_R $EUI_BASE"
    } >"$WORK/topology"
    HUB_ARGS+=(--topology "$WORK/topology")
fi
# Real-time priority when the kernel allows it: the medium's ACKs must reach a sender within its
# 864 us ACK wait, which a descheduled hub misses (retransmitted frames).
RT=()
chrt -f 10 true 2>/dev/null && RT=(chrt -f 10)
ip netns exec "$NS" setsid "${RT[@]}" python3 "$HERE/zep_hub.py" --port "$ZEP_PORT" "${HUB_ARGS[@]}" >"$WORK/hub.log" 2>&1 &
HUB_GROUP=$!
GROUPS_RUNNING+=($!)
wait_for "listening" "$WORK/hub.log" 10 || { echo "FAIL: ZEP hub did not start"; FAIL=$((FAIL + 1)); finish; }

# Empty policy (deny everything) until step 2 knows the endpoints.
: >"$WORK/policy"
ip netns exec "$NS" setsid "$SERVER" --no-stdin --coap '[::]:5683' --http "127.0.0.1:$HTTP_PORT" \
    --policy "$WORK/policy" --c2c-security "$SECURITY" >"$WORK/server.log" 2>&1 &
GROUPS_RUNNING+=($!)
for _ in $(seq 25); do
    in_ns curl -s -m 1 "http://127.0.0.1:$HTTP_PORT/api/clients" >/dev/null && break
    sleep 0.2
done
ip netns exec "$NS" curl -s -N -m 100000 "http://127.0.0.1:$HTTP_PORT/api/events" >"$WORK/events.log" 2>/dev/null &
HOLDS+=($!)

echo "== border router (tap0 + ZEP)"
start_node br border-router "$EUI_BR" tap0
check "border router up (upstream $BR_ADDR, prefix $RADIO_PREFIX)" \
    wait_for "border-router: upstream" "$WORK/br.log" 10
check "border router pings the server side of the tap ($SERVER_ADDR)" ping_from br "$SERVER_ADDR"
IF_BR=$(sed -n 's/^border-router: iface \([0-9]*\) downstream.*/\1/p' "$WORK/br.log" | head -1)

# wait_gaddr <name> <seconds>: until the node has an address from the radio prefix (GADDR,
# LLADDR and IFACE set as node_ifconfig does).
wait_gaddr() {
    local i
    for i in $(seq "$2"); do
        node_ifconfig "$1"
        [ -n "$GADDR" ] && return 0
        sleep 1
    done
    return 1
}
# route <node> <iface> <destination> <next hop>: one /128 route, replacing an older one.
route() {
    shell "$1" nib route del "$2" "$3/128"
    sleep 0.1
    shell "$1" nib route add "$2" "$3/128" "$4"
    sleep 0.1
}
# ipv6_tx <node> <iface>: packets the node's IPv6 layer sent so far.
ipv6_tx() {
    local n
    n=$(grep -c "Statistics for IPv6" "$WORK/$1.log")
    shell "$1" ifconfig "$2" stats
    count_at_least "$((n + 1))" "Statistics for IPv6" "$WORK/$1.log" 5 || { echo 0; return; }
    sleep 0.3
    awk '/Statistics for IPv6/ { s = 1 } s && /TX packets/ { v = $3; s = 0 } END { print v + 0 }' \
        "$WORK/$1.log"
}
declare -A FW_LL FW_IF
# attach_below_forwarders <name>: with C2C_FORWARDERS, once the client has its address, the
# routes down to it (border router -> forwarder 1 -> ... -> forwarder N, which has the client in
# its neighbour cache from the address registration). Its first CoAP messages may go before
# that and are retransmitted.
attach_below_forwarders() {
    [ "$FWD" -gt 0 ] || return 0
    check "$1 gets an address from forwarder $FWD's prefix" wait_gaddr "$1" 30
    [ -n "$GADDR" ] || return 0
    local g=$GADDR i
    route br "$IF_BR" "$g" "${FW_LL[1]}"
    for ((i = 1; i < FWD; i++)); do route "fw$i" "${FW_IF[$i]}" "$g" "${FW_LL[$((i + 1))]}"; done
}

summary() {
    echo "---- border router"; shell br "nib neigh"; sleep 0.5; tail -8 "$WORK/br.log"
    echo "---- ZEP hub"; cat "$WORK/hub.log"
    if [ "$FAIL" != 0 ]; then
        for f in "$WORK"/*.log; do
            case $f in */build-*|*/br.log|*/hub.log) continue ;; esac
            echo "---- $(basename "$f")"; grep -Ev "^EV [0-9]+ value_produced" "$f" | tail -40
        done
    fi
}

if [ "$FWD" -gt 0 ]; then
    echo "== $FWD forwarder(s) between the border router and the clients (Fig. 6 chain)"
    build forwarder FORWARDER_RA=1 || { summary; finish; }
    for i in $(seq "$FWD"); do
        start_node "fw$i" forwarder "$(fw_eui "$i")"
        wait_for "^forwarder: iface" "$WORK/fw$i.log" 10
        check "forwarder $i gets the prefix from $([ "$i" = 1 ] && echo "the border router" || echo "forwarder $((i - 1))")" \
            wait_gaddr "fw$i" 40
        FW_LL[$i]=$LLADDR FW_IF[$i]=$IFACE
        echo "forwarder $i: ${GADDR:-?} ${LLADDR:-?}%${IFACE:-?}"
    done
fi

# ---------------------------------------------------------------------------------------------
if [[ $STEPS == *1* ]]; then
echo "== step 1: two lwm2m-client nodes on the radio, server behind the border router"
EUI_A=00:5a:45:50:0a:00:00:01
EUI_B=00:5a:45:50:0a:00:00:02
# One after the other: RIOT 2026.07's netdev_ieee802154_submac asserts (`!dispatch` in
# submac_rx_done) when a frame arrives while it still dispatches the previous event, which two
# nodes booting at the same moment on one medium trigger now and then.
start_node a lwm2m-client "$EUI_A"
wait_for "^lwm2m-client: endpoint" "$WORK/a.log" 10
start_node b lwm2m-client "$EUI_B"
for n in a b; do
    check "node $n registers through the border router (EVT kind=registered ssid=1)" \
        wait_for "kind=registered ssid=1" "$WORK/$n.log" "$TIMEOUT"
done
EP_A=$(sed -n "s/^lwm2m-client: endpoint \([^,]*\),.*/\1/p" "$WORK/a.log")
EP_B=$(sed -n "s/^lwm2m-client: endpoint \([^,]*\),.*/\1/p" "$WORK/b.log")
echo "endpoints: ${EP_A:-?} ${EP_B:-?}"
check "server lists both endpoints" bash -c "[ -n '$EP_A' ] && [ -n '$EP_B' ] && \
    ip netns exec $NS curl -s -m 5 http://127.0.0.1:$HTTP_PORT/api/clients | grep -q '\"$EP_A\"' && \
    ip netns exec $NS curl -s -m 5 http://127.0.0.1:$HTTP_PORT/api/clients | grep -q '\"$EP_B\"'"
http_get /api/clients | python3 -c 'import json,sys
for c in json.load(sys.stdin):
    print("registered:", c.get("endpoint"), c.get("address", c.get("addr", "")))' 2>/dev/null

for n in a b; do
    ep=$([ $n = a ] && echo "$EP_A" || echo "$EP_B")
    http_get "/api/clients/$ep/3/0/0?format=text" >"$WORK/read-$n.json"
    echo "read $ep /3/0/0: $(cat "$WORK/read-$n.json")"
    check "server reads /3/0/0 from node $n through the border router" grep -q 'RIOT' "$WORK/read-$n.json"
done

# Firmware Update push over the radio (LWM2M_FOTA=file): 100 KB to node a in 256-byte Block1
# blocks, one in flight, each a CON fragmented by 6LoWPAN, through the border router. The time
# and what the radio carried meanwhile (frames and PSDU bytes from the medium's counters, both
# directions, link-layer retransmissions included, other traffic of the nodes in that time too)
# are printed (figures, not checks).
if [ "${C2C_FOTA:-1}" != 0 ]; then
    head -c 102400 /dev/urandom >"$WORK/fw.bin"
    s0=$(hub_snapshot)
    t0=$(date +%s.%N)
    in_ns curl -s -m 900 -X POST --data-binary @"$WORK/fw.bin" \
        "http://127.0.0.1:$HTTP_PORT/api/clients/$EP_A/fota?block=256" >"$WORK/fota-a.json"
    t1=$(date +%s.%N)
    s1=$(hub_snapshot)
    air="radio counters unavailable"
    if [ -n "$s0" ] && [ -n "$s1" ]; then
        air="$(( $(counter frames "$s1") - $(counter frames "$s0") )) frames, $(( $(counter psdu_bytes "$s1") - $(counter psdu_bytes "$s0") )) PSDU bytes on the radio"
    fi
    echo "FOTA push of 100 KB over the radio: $(cat "$WORK/fota-a.json"), $(python3 -c "print(round($t1 - $t0, 1))") s, $(grep -c 'path=/5/0/0 code=2.31' "$WORK/a.log") blocks answered 2.31, $air"
    check "FOTA push of 100 KB to node a over the radio answered 2.04" \
        grep -q '"code":"2.04"' "$WORK/fota-a.json"
    check "node a stored the image byte for byte" cmp "$WORK/fw.bin" "$WORK/nvm0/lwm2m-firmware.bin"
fi

node_ifconfig a
IF_A=$IFACE G_A=$GADDR
node_ifconfig b
IF_B=$IFACE G_B=$GADDR LL_B=$LLADDR
echo "node a: iface ${IF_A:-?} ${G_A:-no global address}; node b: iface ${IF_B:-?} ${G_B:-no global address} ${LL_B:-}"
check "both nodes have an address from the border router's prefix" \
    bash -c "[ -n '$G_A' ] && [ -n '$G_B' ]"
check "node a pings node b over the radio (link-local, one hop)" ping_from a "$LL_B%$IF_A"
check "node a pings node b over the radio (global, through the border router)" ping_from a "$G_B"
check "node b pings the server address through the border router" ping_from b "$SERVER_ADDR"

# Step 1's nodes leave the radio (their process groups are the newest two).
for g in "${GROUPS_RUNNING[@]: -2}"; do
    kill -TERM -- "-$g" 2>/dev/null
    sleep 0.3
    kill -KILL -- "-$g" 2>/dev/null
done

fi

# ---------------------------------------------------------------------------------------------
[[ $STEPS == *2* ]] || { summary; finish; }
echo "== step 2: client-to-client observation with $SECURITY (c2c-host, c2c-requester)"
missing=
for app in c2c-host c2c-requester; do
    [ -f "$ROOT/apps/$app/Makefile" ] || missing="$missing apps/$app"
done
if ! grep -qs '"c2c"' "$ROOT"/c_glue/lwm2m_c2c/*.c || ! grep -qs 'observe' "$ROOT"/c_glue/lwm2m_c2c/*shell*.c; then
    missing="$missing shell-command(lwm2m c2c observe)"
fi
if [ -n "$missing" ]; then
    echo "SKIP: step 2 needs$missing (riot-c2c); not in this checkout"
    summary
    finish
fi

# 6LoWPAN routers (LWM2M_ROUTER=1) when step 4 runs: RIOT takes static routes only on routers.
ROUTER=0
[[ $STEPS == *4* ]] && ROUTER=1
build c2c-host "${C2C_BUILD[@]}" LWM2M_ROUTER=$ROUTER || { summary; finish; }
build c2c-requester "${C2C_BUILD[@]}" LWM2M_ROUTER=$ROUTER || { summary; finish; }
before=$(http_get /api/clients)
start_node host c2c-host "$EUI_H"
attach_below_forwarders host
sleep 2
start_node req c2c-requester "$EUI_R"
attach_below_forwarders req
REQ_GROUP=${GROUPS_RUNNING[-1]}
new_eps() {
    http_get /api/clients | python3 -c 'import json,sys
old = {c.get("endpoint") for c in json.loads(sys.argv[1] or "[]")}
for c in json.load(sys.stdin):
    if c.get("endpoint") not in old:
        print(c.get("endpoint"))' "$before" 2>/dev/null
}
for _ in $(seq "$((TIMEOUT * 2))"); do
    [ "$(new_eps | wc -l)" -ge 2 ] && break
    sleep 0.5
done
# Default endpoint names end in the interface's hardware address (riot-<eui64 hex>).
EP_H=$(new_eps | grep -i "${EUI_H//:/}" | head -1)
EP_R=$(new_eps | grep -i "${EUI_R//:/}" | head -1)
echo "endpoints: host ${EP_H:-?} requester ${EP_R:-?}"
check "c2c-host and c2c-requester register through the border router" \
    bash -c "[ -n '$EP_H' ] && [ -n '$EP_R' ]"

node_ifconfig host
G_H=$GADDR LL_H=$LLADDR IF_H=$IFACE IF_R=
node_ifconfig req
IF_R=$IFACE G_R=$GADDR LL_R=$LLADDR
# The host's sensor path, from its first value_produced line.
shell host sensor period "$PERIOD_MS"
wait_for "^EV [0-9]+ value_produced " "$WORK/host.log" 10
SENSOR_PATH=$(grep -Em1 "^EV [0-9]+ value_produced " "$WORK/host.log" | cut -d' ' -f4)
SENSOR_PATH=${SENSOR_PATH:-/3303/0/5700}
OBJ=/$(echo "$SENSOR_PATH" | cut -d/ -f2)
HOST_URI=${C2C_HOST_URI:-coap://[$G_H]:5683}
echo "host ${G_H:-?} (link-local ${LL_H:-?}), sensor $SENSOR_PATH, requester iface ${IF_R:-?}"

echo "allow requester=$EP_R host=$EP_H path=$OBJ rights=read lifetime=600" >"$WORK/policy"
echo "policy: $(cat "$WORK/policy")"
in_ns curl -s -m 10 -X POST "http://127.0.0.1:$HTTP_PORT/api/policy/reload" >"$WORK/reload.json"
echo "policy reload: $(cat "$WORK/reload.json")"
check "server reloads the policy allowing the pair (1 rule)" grep -q '"rules":1' "$WORK/reload.json"

# The requester's application starts once its own registration is confirmed (the server lists
# it when it sent the 2.01, which may still be on its way through forwarders).
wait_for "^EV [0-9]+ registered ssid=1" "$WORK/req.log" "$TIMEOUT"
shell req lwm2m c2c observe "$EP_H" "$HOST_URI" "$SENSOR_PATH"
# The 4.01 with the owner-server hint: the host's or requester's line for it when they print
# one (EV ... code=4.01, EV hint_rx), else the requester's plain request followed by
# auth_begin, which the driver only sends after a 4.01 whose hint names a server it is
# registered to.
unauthorized_hint() {
    grep -Eq "^EVT? .*code=4\.01" "$WORK/host.log" && return 0
    grep -Eq "^EV [0-9]+ hint_rx " "$WORK/req.log" && return 0
    grep -E "^EV [0-9]+ (c2c_request|auth_begin) " "$WORK/req.log" |
        awk '$3 == "c2c_request" && / plain/ { p = 1 } $3 == "auth_begin" && p { ok = 1 } END { exit !ok }'
}
check "unauthorized request answered 4.01 with an owner-server hint" \
    wait_fn unauthorized_hint 20
check "access request answered 2.01 (requester EV auth_end 2.01)" \
    wait_for "^EV [0-9]+ auth_end .*2\.01" "$WORK/req.log" 30
event_has() { # event kind, then substrings its JSON line must hold
    local kind=$1 line
    shift
    while read -r line; do
        local s all=1
        for s in "$@"; do [[ $line == *"$s"* ]] || all=0; done
        [ "$all" = 1 ] && return 0
    done < <(grep -F "\"event\":\"$kind\"" "$WORK/events.log")
    return 1
}
sleep 1
check "server allowed the access request with 2.01 (event access-request)" \
    event_has access-request '"decision":"allowed"' '"code":"2.01"' "\"endpoint\":\"$EP_R\""
check "server installed accounts with credentials on both clients (event c2c-installed)" \
    event_has c2c-installed '"credentials":true' "\"security\":\"$SECURITY\"" "\"host\":\"$EP_H\""
http_get /api/grants >"$WORK/grants.json"
echo "grants: $(cat "$WORK/grants.json")"
check "grant of the pair listed (GET /api/grants, security $SECURITY)" \
    bash -c "grep -q '$EP_R' '$WORK/grants.json' && grep -q '$EP_H' '$WORK/grants.json' && grep -q $SECURITY '$WORK/grants.json'"
wait_flow host req notification_rx "$VALUES" "$(( 10 + (VALUES + 2) * PERIOD_MS / 1000 ))"
sleep "$(( 3 * PERIOD_MS / 1000 + 1 ))"
check "requester's application gets >= 3 distinct host values, none twice (EV notification_rx)" \
    flow_check host req notification_rx c2c
if [ "$SECURITY" = psk ]; then
    check "requester's protected request went over DTLS (EV c2c_request ... dtls)" \
        grep -Eq "^EV [0-9]+ c2c_request .* dtls" "$WORK/req.log"
    check "host served it over DTLS as the account's requester (EVT kind=request peer=dtls-client)" \
        grep -q "kind=request peer=dtls-client .*code=2.05" "$WORK/host.log"
fi
echo "---- host EV lines"; grep -E "^EV " "$WORK/host.log" | head -20
echo "---- requester EV lines"; grep -E "^EV " "$WORK/req.log" | head -20
python3 "$HERE/evlog.py" delays "$WORK/host.stamped" "$WORK/req.stamped" --max-ms "$PERIOD_MS" \
    --label c2c | tee "$WORK/c2c-delays.txt"

# ---------------------------------------------------------------------------------------------
# Step 4 (with step 2): the same observation over N = 1, 2, 3 radio hops. Two apps/forwarder
# nodes join; static routes (as the paper's route files on IoT-LAB) send the requester's and
# the host's datagrams to each other directly (N = 1), through forwarder 1 (N = 2), or through
# forwarders 1 and 2 (N = 3), one after the other on the running observation. Every node still
# hears every other (one collision domain, as the paper's nodes on one IoT-LAB site); the routes
# alone make the hops. The host and the requester are 6LoWPAN routers here (LWM2M_ROUTER=1:
# RIOT takes routes other than the default one only on routers). Checks: each setting delivers
# >= 3 values, and a forwarder's IPv6 layer sent at least as many packets as values arrived in
# that window when it is on the path, fewer than half as many when it is not
# (`ifconfig <if> stats`). The delay per setting is reported, never asserted.
if [[ $STEPS == *4* ]]; then
echo "== step 4: the observation over 1, 2 and 3 radio hops (static routes through apps/forwarder)"
if build forwarder; then
    start_node f1 forwarder 00:5a:45:50:0a:00:00:21
    F1_GROUP=${GROUPS_RUNNING[-1]}
    start_node f2 forwarder 00:5a:45:50:0a:00:00:22
    F2_GROUP=${GROUPS_RUNNING[-1]}
    wait_for "^forwarder: iface" "$WORK/f1.log" 10
    wait_for "^forwarder: iface" "$WORK/f2.log" 10
    sleep 2
    node_ifconfig f1
    IF_F1=$IFACE LL_F1=$LLADDR
    node_ifconfig f2
    IF_F2=$IFACE LL_F2=$LLADDR
    echo "forwarders: f1 ${LL_F1:-?}%${IF_F1:-?}, f2 ${LL_F2:-?}%${IF_F2:-?}; requester ${G_R:-?}, host ${G_H:-?}"
    HOP_SECONDS=${C2C_HOP_SECONDS:-$(( 6 * PERIOD_MS / 1000 + 2 ))}
    for hops in 1 2 3; do
        case $hops in
        1)  route req "$IF_R" "$G_H" "$LL_H"; route host "$IF_H" "$G_R" "$LL_R" ;;
        2)  route f1 "$IF_F1" "$G_H" "$LL_H"; route f1 "$IF_F1" "$G_R" "$LL_R"
            route req "$IF_R" "$G_H" "$LL_F1"; route host "$IF_H" "$G_R" "$LL_F1" ;;
        3)  route f2 "$IF_F2" "$G_H" "$LL_H"; route f2 "$IF_F2" "$G_R" "$LL_F1"
            route f1 "$IF_F1" "$G_H" "$LL_F2"
            route req "$IF_R" "$G_H" "$LL_F1"; route host "$IF_H" "$G_R" "$LL_F2" ;;
        esac
        tx1=$(ipv6_tx f1 "$IF_F1") tx2=$(ipv6_tx f2 "$IF_F2")
        sleep 1
        t0=$(python3 -c 'import time; print(time.monotonic())')
        sleep "$HOP_SECONDS"
        t1=$(python3 -c 'import time; print(time.monotonic())')
        d1=$(( $(ipv6_tx f1 "$IF_F1") - tx1 )) d2=$(( $(ipv6_tx f2 "$IF_F2") - tx2 ))
        python3 "$HERE/evlog.py" delays "$WORK/host.stamped" "$WORK/req.stamped" \
            --max-ms "$PERIOD_MS" --since "$t0" --until "$t1" --label "c2c hops=$hops" \
            >"$WORK/hops-$hops.txt"
        grep -h ": n=" "$WORK/hops-$hops.txt" | tee -a "$WORK/hops.txt"
        n=$(grep -Eo ": n=[0-9]+" "$WORK/hops-$hops.txt" | grep -Eo "[0-9]+")
        n=${n:-0}
        echo "hops=$hops: IPv6 packets sent by forwarder 1: $d1, by forwarder 2: $d2"
        check "observation over $hops hop(s) delivers >= 3 values" bash -c "[ $n -ge 3 ]"
        # A forwarder on the path sends each of the n values on (>= n IPv6 packets); one off
        # the path sends only its own neighbour-discovery traffic (< n / 2).
        case $hops in
        1) check "hops=1: neither forwarder carries the values (< $n / 2 IPv6 packets each)" \
               bash -c "[ $((2 * d1)) -lt $n ] && [ $((2 * d2)) -lt $n ]" ;;
        2) check "hops=2: forwarder 1 carries the values (>= $n IPv6 packets), forwarder 2 does not" \
               bash -c "[ $d1 -ge $n ] && [ $((2 * d2)) -lt $n ]" ;;
        3) check "hops=3: both forwarders carry the values (>= $n IPv6 packets each)" \
               bash -c "[ $d1 -ge $n ] && [ $d2 -ge $n ]" ;;
        esac
    done
    # The forwarders leave the radio (the next step has one flow at a time).
    for g in "$F1_GROUP" "$F2_GROUP"; do kill -TERM -- "-$g" 2>/dev/null; done
    sleep 0.3
    for g in "$F1_GROUP" "$F2_GROUP"; do kill -KILL -- "-$g" 2>/dev/null; done
fi
fi

# ---------------------------------------------------------------------------------------------
[[ $STEPS == *3* ]] || { summary; finish; }
echo "== step 3: server-centric baseline (baseline-client), side by side with the C2C observation"
if [ ! -f "$ROOT/apps/baseline-client/Makefile" ]; then
    echo "SKIP: step 3 needs apps/baseline-client; not in this checkout"
    summary
    finish
fi
build baseline-client || { summary; finish; }
# The requester leaves the radio first: one data flow at a time keeps the simulated radio below
# the load at which RIOT 2026.07's socket_zep / submac dispatch asserts (seen with three nodes
# and two flows: "netdev_ieee802154_submac.c:365 => FAILED ASSERTION", the node's radio then
# stops receiving).
kill -TERM -- "-$REQ_GROUP" 2>/dev/null
sleep 0.3
kill -KILL -- "-$REQ_GROUP" 2>/dev/null
EUI_B=$EUI_BASE
before=$(http_get /api/clients)
start_node base baseline-client "$EUI_B"
attach_below_forwarders base
for _ in $(seq "$((TIMEOUT * 2))"); do
    [ -n "$(new_eps | grep -i "${EUI_B//:/}")" ] && break
    sleep 0.5
done
EP_B=$(new_eps | grep -i "${EUI_B//:/}" | head -1)
check "baseline-client registers through the border router" bash -c "[ -n '$EP_B' ]"
body="{\"host\":\"$EP_H\",\"path\":\"$SENSOR_PATH\",\"requester\":\"$EP_B\",\"target\":\"/3308/0/5900\"}"
for _ in 1 2 3; do
    in_ns curl -s -m 40 -X POST -H 'Content-Type: application/json' -d "$body" \
        "http://127.0.0.1:$HTTP_PORT/api/relays" >"$WORK/relay.json"
    echo "relay: $(cat "$WORK/relay.json")"
    grep -q '"id"' "$WORK/relay.json" && break
    sleep 2
done
check "server starts the relay $EP_H $SENSOR_PATH -> $EP_B /3308/0/5900" grep -q '"id"' "$WORK/relay.json"
declare -A FW_TX
for ((i = 1; i <= FWD; i++)); do FW_TX[$i]=$(ipv6_tx "fw$i" "${FW_IF[$i]}"); done
wait_flow host base value_rx "$VALUES" "$(( 10 + (VALUES + 2) * PERIOD_MS / 1000 ))"
sleep "$(( 3 * PERIOD_MS / 1000 + 1 ))"
check "baseline node gets >= 3 distinct relayed values, none twice (EV value_rx)" \
    flow_check host base value_rx relay
# Each relayed value crosses every forwarder twice (the host's notification up, the server's
# write down), so each forwarder's IPv6 layer sent at least two packets per value received.
n_relayed=$(python3 "$HERE/evlog.py" flow "$WORK/host.stamped" "$WORK/base.stamped" \
    --rx-kind value_rx 2>/dev/null | grep -Eo "distinct=[0-9]+" | grep -Eo "[0-9]+")
for ((i = 1; i <= FWD; i++)); do
    d=$(( $(ipv6_tx "fw$i" "${FW_IF[$i]}") - FW_TX[$i] ))
    echo "forwarder $i: $d IPv6 packets sent during the relay ($n_relayed values received)"
    check "forwarder $i carries the relay both ways (>= 2 IPv6 packets per relayed value)" \
        bash -c "[ ${n_relayed:-0} -ge 1 ] && [ $d -ge $((2 * ${n_relayed:-0})) ]"
done
echo "---- baseline EV lines"; grep -E "^EV " "$WORK/base.log" | head -10
python3 "$HERE/evlog.py" delays "$WORK/host.stamped" "$WORK/base.stamped" --max-ms "$PERIOD_MS" \
    --rx-kind value_rx --label relay | tee "$WORK/relay-delays.txt"
echo "side by side (value produced on the host -> value at the requester, same radio, same"
echo "border router, one after the other; reported, not asserted):"
grep -h ": n=" "$WORK/c2c-delays.txt" "$WORK/relay-delays.txt" | sed 's/^/  /'

summary
finish
