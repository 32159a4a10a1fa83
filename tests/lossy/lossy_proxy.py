#!/usr/bin/env python3
"""A lossy UDP link on loopback: drops, duplicates, delays and reorders datagrams.

This kernel has no netem, so the impairments are made here, in userspace. The proxy listens on
one address and forwards to a target. Every source that sends to the listening address gets a
socket of its own toward the target (so the target sees one address per source, as behind a
NAT), and whatever the target sends to that socket goes back to the source from the listening
address. Both directions are impaired alike, each datagram on its own draw:

    loss       probability that a datagram is dropped
    dup        probability that a delivered datagram arrives twice (the copy `delay` later)
    reorder    probability that a delivered datagram is held back `reorder_ms` extra, so
               that later ones overtake it
    delay_ms   fixed one-way delay of every datagram

The draws come from one seeded random generator, so a run is repeatable for a given order of
arrivals. Counters per direction (`up`: source to target, `down`: target to source) are kept
in `stats` and printed as one line by the command at SIGTERM / SIGINT:

    lossy_proxy: up sent=.. dropped=.. duplicated=.. reordered=.. down sent=.. ...

Use in tests as a context manager (`with LossyProxy(...) as p:`), or as a command:

    python3 tests/lossy/lossy_proxy.py --listen 127.0.0.1:6000 --target 127.0.0.1:5683 \
        --loss 0.2 --dup 0.1 --reorder 0.1 --seed 1
"""

import argparse
import heapq
import itertools
import random
import select
import signal
import socket
import sys
import threading
import time

MAX_SOURCES = 64
"""Sources the proxy keeps a socket for; the oldest is forgotten when a new one exceeds it."""


def addr(text):
    """`host:port` or `[v6]:port` as a socket address tuple."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def probability(text):
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a probability is between 0 and 1")
    return v


class Direction:
    """Counters of one direction."""

    def __init__(self):
        self.received = 0
        self.received_bytes = 0
        self.sent = 0
        self.dropped = 0
        self.duplicated = 0
        self.reordered = 0

    def line(self):
        return (f"received={self.received} sent={self.sent} dropped={self.dropped} "
                f"duplicated={self.duplicated} reordered={self.reordered}")


class LossyProxy:
    """The lossy link; `start()` runs it on a thread, `stop()` ends it."""

    def __init__(self, listen, target, loss=0.0, dup=0.0, reorder=0.0, delay_ms=1.0,
                 reorder_ms=30.0, seed=1):
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(listen)
        self.listen = self.sock.getsockname()[:2]
        self.target = target
        self.loss, self.dup, self.reorder = loss, dup, reorder
        self.delay, self.reorder_delay = delay_ms / 1000.0, reorder_ms / 1000.0
        self.rng = random.Random(seed)
        self.up, self.down = Direction(), Direction()
        self.upstream = {}  # source address -> socket toward the target
        self.source_of = {}  # upstream socket -> source address
        self.queue = []  # (due, seq, socket, payload, destination, counters)
        self.seq = itertools.count()
        self.running = False
        self.thread = None
        # Tests may set this to rewrite datagrams toward the listening side's peers (from the
        # target), e.g. to corrupt one in transit: payload -> payload.
        self.mutate_down = None

    # -- impairment ---------------------------------------------------------------------------
    def _impair(self, stats, sock, payload, dest, now):
        stats.received += 1
        stats.received_bytes += len(payload)
        if self.rng.random() < self.loss:
            stats.dropped += 1
            return
        due = now + self.delay
        if self.rng.random() < self.reorder:
            stats.reordered += 1
            due += self.reorder_delay
        heapq.heappush(self.queue, (due, next(self.seq), sock, payload, dest, stats))
        if self.rng.random() < self.dup:
            stats.duplicated += 1
            heapq.heappush(self.queue,
                           (due + self.delay, next(self.seq), sock, payload, dest, stats))

    def _upstream_for(self, source):
        s = self.upstream.get(source)
        if s is None:
            if len(self.upstream) >= MAX_SOURCES:
                oldest = next(iter(self.upstream))
                old = self.upstream.pop(oldest)
                self.source_of.pop(old, None)
                old.close()
            s = socket.socket(self.sock.family, socket.SOCK_DGRAM)
            s.bind((self.listen[0], 0))
            self.upstream[source] = s
            self.source_of[s] = source
        return s

    # -- loop ---------------------------------------------------------------------------------
    def _run(self):
        while self.running:
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                _, _, sock, payload, dest, stats = heapq.heappop(self.queue)
                try:
                    sock.sendto(payload, dest)
                    stats.sent += 1
                except OSError:
                    pass  # a forgotten source's socket, or nobody listening: a lost datagram
            timeout = 0.05
            if self.queue:
                timeout = max(0.0, min(timeout, self.queue[0][0] - now))
            socks = [self.sock, *self.source_of]
            try:
                ready, _, _ = select.select(socks, [], [], timeout)
            except (OSError, ValueError):
                continue  # a socket closed by eviction between the list and the call
            now = time.monotonic()
            for s in ready:
                try:
                    payload, src = s.recvfrom(65535)
                except OSError:
                    continue
                if s is self.sock:
                    up = self._upstream_for(src[:2])
                    self._impair(self.up, up, payload, self.target, now)
                elif s in self.source_of:
                    if self.mutate_down is not None:
                        payload = self.mutate_down(payload)
                    self._impair(self.down, self.sock, payload, self.source_of[s], now)

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, name="lossy-proxy", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(2)
        for s in [self.sock, *self.source_of]:
            s.close()

    def stats_line(self):
        return f"lossy_proxy: up {self.up.line()} down {self.down.line()}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=addr, required=True, help="HOST:PORT to listen on")
    ap.add_argument("--target", type=addr, required=True, help="HOST:PORT to forward to")
    ap.add_argument("--loss", type=probability, default=0.0)
    ap.add_argument("--dup", type=probability, default=0.0)
    ap.add_argument("--reorder", type=probability, default=0.0)
    ap.add_argument("--delay-ms", type=float, default=1.0)
    ap.add_argument("--reorder-ms", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    p = LossyProxy(a.listen, a.target, a.loss, a.dup, a.reorder, a.delay_ms, a.reorder_ms,
                   a.seed)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    p.start()
    print(f"lossy_proxy: {p.listen[0]}:{p.listen[1]} -> {a.target[0]}:{a.target[1]}", flush=True)
    done.wait()
    p.stop()
    print(p.stats_line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
