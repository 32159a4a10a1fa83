#!/usr/bin/env bash
# Reproduces RIOT 2026.07's SubMAC dispatch assertion (netdev_ieee802154_submac.c:365) on the
# simulated radio, with and without the medium's per-receiver guard (tests/riot/zep_hub.py
# --guard-us), and counts it. Three apps/forwarder nodes on one medium; nodes 1 and 2 ping
# node 3 at the same time, 150 link-local unicasts each 5 ms apart, so frames reach node 3
# right after it sent its software ACK, the window in which a received frame makes
# submac_rx_done assert (see the docstring of zep_hub.py).
#
#   tests/riot/submac_stress.sh [RUNS]        (default 5 runs per setting)
#
# Prints one line per run, `guard=<us> run=<n> assertions=<count>`, and a summary per
# setting. A measurement, not a test: it never fails on the counts. Needs RIOTBASE and root
# (its own network namespace, removed at exit); skipped otherwise.
set -u

# shellcheck source=tests/riot/common.sh
. "$(dirname "$0")/common.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-5}
NS="lwm2m-stress-$$"
WORK=$(mktemp -d)
BIN="$ROOT/apps/forwarder/bin/native64-zep"
PIDS=()

stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
}
cleanup() {
    stop_all
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
    give_back "$ROOT"
}
trap cleanup EXIT

echo "== build apps/forwarder for native64 (USE_ZEP=1)"
if ! make -C "$ROOT/apps/forwarder" BOARD=native64 USE_ZEP=1 BINDIR="$BIN" -j"$(nproc)" \
        >"$WORK/build.log" 2>&1; then
    tail -20 "$WORK/build.log"
    exit 1
fi
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up

# one_run <guard us> <run>: prints the run's line.
one_run() {
    local g=$1 r=$2 n d
    d="$WORK/run-$g-$r"
    mkdir -p "$d"
    ip netns exec "$NS" setsid python3 "$ROOT/tests/riot/zep_hub.py" --port 17754 \
        --guard-us "$g" >"$d/hub.log" 2>&1 &
    PIDS+=($!)
    sleep 1
    for n in 1 2 3; do
        mkfifo "$d/in$n"
        setsid sleep 120 >"$d/in$n" &
        PIDS+=($!)
        ip netns exec "$NS" setsid "$BIN/forwarder.elf" -z '[::1]:17754' \
            --eui64="00:5a:45:50:0a:00:00:4$n" <"$d/in$n" >"$d/n$n.log" 2>&1 &
        PIDS+=($!)
    done
    sleep 3
    for n in 1 2; do
        printf 'ping -c 150 -i 5 -s 40 fe80::25a:4550:a00:43\n' >"$d/in$n"
    done
    sleep 12
    echo "guard=$g run=$r assertions=$(cat "$d"/n*.log | grep -c "FAILED ASSERTION")"
    stop_all
}

for g in 0 1000; do
    total=0 hit=0
    for r in $(seq "$RUNS"); do
        line=$(one_run "$g" "$r")
        echo "$line"
        a=${line##*assertions=}
        total=$((total + a))
        [ "$a" -gt 0 ] && hit=$((hit + 1))
    done
    echo "summary: guard=$g us: assertions in $hit of $RUNS runs ($total in all)"
done
