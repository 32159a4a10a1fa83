#!/usr/bin/env python3
"""A tiny ZEP hub: one simulated IEEE 802.15.4 medium for native RIOT nodes (socket_zep).

    tests/riot/zep_hub.py [--port 17754] [--log FILE]

Listens on UDP [::1]:<port> (loopback only). Every node that sends a datagram becomes known;
each ZEP datagram is forwarded unchanged to every other known node (all nodes hear each
other, like RIOT's dist/tools/zep_dispatch without a topology). socket_zep's HELLO datagrams
(ZEP v2 type 255, sent at start by the socket_zep_hello module) only announce a node and are
not forwarded. Runs until SIGTERM / SIGINT; prints one line per new node and, at exit, the
number of datagrams forwarded.

The medium carries one frame at a time, as a real channel does: a frame is forwarded when the
previous one has had its air time (O-QPSK 2.4 GHz: 32 us per byte of PHY header + PSDU, plus
the 192 us turnaround) after the previous one, and reaches the other nodes at the end of its
air time; later frames wait in the socket's queue. Besides realism this keeps
two frames from reaching a node within one interrupt of its radio driver: RIOT 2026.07's
ieee802154_submac asserts when an RX and a TX completion arrive before the first is
dispatched ("netdev_ieee802154_submac.c:365 => FAILED ASSERTION"), which an unpaced hub
triggered under load. `--no-airtime` forwards at once.
"""

import argparse
import signal
import socket
import sys
import time

ZEP_TYPE_HELLO = 255
ZEP_V2_DATA_HEADER = 32  # bytes before the IEEE 802.15.4 frame in a ZEP v2 data datagram
PHY_HEADER = 6  # preamble, SFD, PHR
US_PER_BYTE = 32  # 250 kbit/s
TURNAROUND_US = 192


def airtime_s(datagram_len):
    """Air time of the frame a ZEP datagram carries, plus turnaround, in seconds."""
    psdu = max(datagram_len - ZEP_V2_DATA_HEADER, 5)
    return ((PHY_HEADER + psdu) * US_PER_BYTE + TURNAROUND_US) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=17754)
    ap.add_argument("--log", help="write the node list and counters here instead of stdout")
    ap.add_argument("--no-airtime", action="store_true", help="forward at once, no pacing")
    args = ap.parse_args()
    if args.log:
        out = open(args.log, "a", buffering=1)
    else:
        sys.stdout.reconfigure(line_buffering=True)
        out = sys.stdout

    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::1", args.port))
    nodes = []
    forwarded = 0
    busy_until = 0.0

    def stop(*_):
        print(f"zep_hub: {len(nodes)} nodes, {forwarded} datagrams forwarded", file=out)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"zep_hub: listening on [::1]:{args.port}", file=out)
    while True:
        try:
            data, src = sock.recvfrom(2048)
        except ConnectionRefusedError:
            # An ICMP port unreachable from a node that stopped; keep going.
            continue
        src = src[:2]
        if src not in nodes:
            nodes.append(src)
            print(f"zep_hub: node [{src[0]}]:{src[1]}", file=out)
        if len(data) >= 4 and data[:2] == b"EX" and data[2] == 2 and data[3] == ZEP_TYPE_HELLO:
            continue
        if not args.no_airtime:
            # Received by the others at the end of its air time, after the frame before it.
            now = time.monotonic()
            busy_until = max(now, busy_until) + airtime_s(len(data))
            time.sleep(busy_until - now)
        for dst in nodes:
            if dst == src:
                continue
            try:
                sock.sendto(data, dst)
                forwarded += 1
            except OSError:
                pass


if __name__ == "__main__":
    main()
