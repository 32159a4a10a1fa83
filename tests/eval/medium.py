"""A userspace 802.15.4 medium on loopback for the `host` backend (no root, no RIOT).

Each endpoint (the hosting client, the requesting client, the LwM2M server) binds its real
socket; the medium has one socket per endpoint (`address(name)`), at which the others reach
it. A datagram arriving at the medium socket of dst from the real address of src is carried
along the radio path src .. dst of the topology, hop by hop, and then sent to dst's real
address from the medium socket of src. So every endpoint appears to all the others at one
address (its medium socket): the address the server registers a client by is the one the
other client reaches it at, as with one IPv6 address per node. A datagram from an address
that is no endpoint's is dropped and counted (`unknown_source`).

Per hop the datagram is cut into 802.15.4 frames as 6LoWPAN would (radio.py), and each frame
holds the channel for CSMA backoff + CCA + air time + turnaround + ACK. All nodes share one
channel (one collision domain): frames are served one after the other in arrival order, so a
busy channel delays later datagrams (no collisions are modelled; a frame is lost with
probability `frame_loss` per attempt and retried up to `mac_retries` times, each attempt
costing its channel time). A datagram is lost when one of its frames exhausts its retries
(6LoWPAN cannot recover a lost fragment) or when the channel is booked more than
`max_backlog_ms` ahead at its arrival (a full send queue). The wired hop between the gateway
and the server adds `internet_ms`. Forwarders reassemble before sending on (RIOT's GNRC
default, hop-by-hop reassembly).

Counters (`stats()`): datagrams per pair delivered / lost (frame loss, backlog), frames,
retries, and per radio node the transmit and receive time (radio-on proxy for energy,
Figure 9), written as JSON by the backend.
"""

import heapq
import itertools
import random
import select
import socket
import threading
import time

import radio

MAX_QUEUE = 10_000
"""Datagrams in flight in the medium at once; more are dropped and counted (`queue_full`)."""


class Medium:
    """The medium; `start()` runs it on a thread, `stop()` ends it."""

    def __init__(self, real, paths, bitrate_kbps=250, frame_loss=0.0, mac_retries=3,
                 internet_ms=0.0, max_backlog_ms=2000.0, seed=1, host="::1"):
        """`real`: endpoint name -> (addr, port) it binds; `paths`: (src, dst) -> radio node
        path (first node src's radio, last dst's; the server's radio node is the gateway,
        named `gw`)."""
        self.real = dict(real)
        self.paths = dict(paths)
        self.bitrate = bitrate_kbps
        self.loss = frame_loss
        self.retries = mac_retries
        self.internet_s = internet_ms / 1000.0
        self.backlog_s = max_backlog_ms / 1000.0
        self.rng = random.Random(seed)
        self.by_addr = {self._key(a): n for n, a in self.real.items()}
        self.listen = {}
        self.owner = {}
        for name in self.real:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            sock.bind((host, 0))
            self.listen[name] = sock
            self.owner[sock] = name
        self.busy_until = 0.0
        self.queue = []
        self.seq = itertools.count()
        self.counts = {}
        self.node_us = {}
        self.lock = threading.Lock()
        self.running = False
        self.thread = None

    @staticmethod
    def _key(a):
        return (a[0].strip("[]"), int(a[1]))

    def address(self, name):
        """(host, port) at which the others reach endpoint `name`."""
        return self.listen[name].getsockname()[:2]

    def _count(self, src, dst, what, n=1):
        c = self.counts.setdefault(f"{src}->{dst}", {})
        c[what] = c.get(what, 0) + n

    def _node(self, node, what, us):
        c = self.node_us.setdefault(node, {"tx_us": 0.0, "rx_us": 0.0, "frames_tx": 0})
        c[what] += us
        if what == "tx_us":
            c["frames_tx"] += 1

    def carry(self, src, dst, size, now):
        """Books the datagram's hops on the channel; returns the delivery time, or None when
        it is lost (counted)."""
        nodes = self.paths.get((src, dst))
        if nodes is None:
            self._count(src, dst, "no_route")
            return None
        try:
            sizes = radio.frame_sizes(size)
        except ValueError:
            self._count(src, dst, "too_large")
            return None
        if self.busy_until - now > self.backlog_s:
            self._count(src, dst, "lost_backlog")
            return None
        t = now
        bus = radio.byte_us(self.bitrate)
        for a, b in zip(nodes, nodes[1:]):
            for f in sizes:
                for attempt in range(self.retries + 1):
                    start = max(t, self.busy_until)
                    units = self.rng.randrange(2 ** radio.MIN_BE)
                    air = (f + radio.PHY_OVERHEAD) * bus
                    hold = units * radio.UNIT_BACKOFF_US + radio.CCA_US + air + \
                        radio.ack_us(self.bitrate)
                    self.busy_until = start + hold / 1e6
                    t = self.busy_until
                    self._node(a, "tx_us", air)
                    self._node(b, "rx_us", air)
                    self._count(src, dst, "frames")
                    if self.rng.random() >= self.loss:
                        break
                    self._count(src, dst, "retries")
                else:
                    self._count(src, dst, "lost_frame")
                    return None
        if dst == "server" or src == "server":
            t += self.internet_s
        self._count(src, dst, "delivered")
        return t

    def _arrive(self, sock, data, peer, now):
        dst = self.owner[sock]
        src = self.by_addr.get(self._key(peer[:2]))
        if src is None:
            self._count("?", dst, "unknown_source")
            return
        if len(self.queue) >= MAX_QUEUE:
            self._count(src, dst, "queue_full")
            return
        t = self.carry(src, dst, len(data), now)
        if t is not None:
            heapq.heappush(self.queue, (t, next(self.seq), self.listen[src], data,
                                        self.real[dst]))

    def _loop(self):
        socks = list(self.owner)
        while self.running:
            with self.lock:
                wait = max(0.0, self.queue[0][0] - time.monotonic()) if self.queue else 0.05
            r, _, _ = select.select(socks, [], [], min(wait, 0.05))
            now = time.monotonic()
            with self.lock:
                for s in r:
                    try:
                        data, peer = s.recvfrom(65535)
                    except OSError:
                        continue
                    self._arrive(s, data, peer, now)
                while self.queue and self.queue[0][0] <= time.monotonic():
                    _, _, out, data, to = heapq.heappop(self.queue)
                    try:
                        out.sendto(data, to)
                    except OSError:
                        pass

    def start(self):
        """Runs the medium on a thread."""
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Ends the thread and closes the sockets."""
        self.running = False
        if self.thread:
            self.thread.join(timeout=2)
        for s in self.owner:
            s.close()

    def stats(self):
        """Counters per pair and radio time per node."""
        with self.lock:
            return {"pairs": {k: dict(v) for k, v in self.counts.items()},
                    "nodes": {k: dict(v) for k, v in self.node_us.items()},
                    "bitrate_kbps": self.bitrate}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
