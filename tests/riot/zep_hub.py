#!/usr/bin/env python3
"""A tiny ZEP hub: one simulated IEEE 802.15.4 medium for native RIOT nodes (socket_zep).

    tests/riot/zep_hub.py [--port 17754] [--log FILE]

Listens on UDP [::1]:<port> (loopback only). Every node that sends a datagram becomes known;
each ZEP datagram is forwarded unchanged to every other known node (all nodes hear each
other, like RIOT's dist/tools/zep_dispatch without a topology). socket_zep's HELLO datagrams
(ZEP v2 type 255, sent at start by the socket_zep_hello module) only announce a node and are
not forwarded. Runs until SIGTERM / SIGINT; prints one line per new node and, at exit, the
number of datagrams forwarded.
"""

import argparse
import signal
import socket
import sys

ZEP_TYPE_HELLO = 255


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=17754)
    ap.add_argument("--log", help="write the node list and counters here instead of stdout")
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
