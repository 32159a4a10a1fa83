"""The simulated IEEE 802.15.4 medium behind tests/riot/zep_hub.py, without sockets.

`Medium` gets every datagram with the time it reached the hub (`on_datagram`), keeps a heap of
timed events that the hub runs when they are due (`next_time`, `run_due`) and answers through a
`send(sockaddr, datagram)` callback, so tests can drive it with a fake clock. The model (air
time, channel, ACKs, guards, topology, loss) is described in zep_hub.py's docstring; the pure
functions here (air time, CRC, frame parsing and building) are its building blocks.
"""

import heapq
import random
import struct
import time
from collections import deque
from dataclasses import dataclass

PHY_HEADER_BYTES = 6  # preamble 4, SFD 1, PHR 1
TURNAROUND_US = 192  # aTurnaroundTime: 12 symbols of 16 us (O-QPSK 2.4 GHz)
SIFS_US = 192  # macSIFSPeriod, 12 symbols
LIFS_US = 640  # macLIFSPeriod, 40 symbols
MAX_SIFS_FRAME = 18  # aMaxSIFSFrameSize: MPDUs up to this length are followed by a SIFS
ACK_PSDU_LEN = 5  # FCF 2, seq 1, FCS 2
ZEP_HEADER_LEN = 32  # ZEP v2 data header (socket_zep's zep_v2_data_hdr_t)
ZEP_TYPE_DATA = 1
ZEP_TYPE_HELLO = 255  # socket_zep_hello: header, then the node's EUI-64
FT_BEACON, FT_DATA, FT_ACK, FT_CMD = 0, 1, 2, 3
BROADCAST_SHORT = b"\xff\xff"
MAX_REDELIVERIES = 3
RX_QUEUE_MAX = 16  # frames held for one receiver; a real radio holds none
NTP_EPOCH_OFFSET = 2208988800

COUNTERS = ("frames", "delivered", "acks_generated", "node_acks", "deferred", "redelivered",
            "lost", "unconfirmed", "dropped_no_neighbour", "nodes", "held", "retransmissions",
            "unknown_dst", "busy_dropped", "queue_dropped", "hellos", "invalid", "psdu_bytes")


def crc16_kermit(data, crc=0):
    """CRC-16/KERMIT (RIOT's crc16_ccitt_kermit_calc), the FCS socket_zep appends."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def airtime_us(psdu_len, bitrate_kbps=250):
    """Air time in microseconds of a PSDU of `psdu_len` bytes (FCS included) with its PHY
    header: (6 + psdu_len) * 8 / bitrate; 32 us per byte at 250 kbit/s."""
    return (PHY_HEADER_BYTES + psdu_len) * 8 * 1000 / bitrate_kbps


def ifs_us(psdu_len):
    """Interframe spacing after an MPDU of `psdu_len` bytes: SIFS up to 18 bytes, else LIFS."""
    return SIFS_US if psdu_len <= MAX_SIFS_FRAME else LIFS_US


def busy_us(psdu_len, acked, bitrate_kbps=250):
    """Channel time of one frame in microseconds: its air time, the ACK exchange (turnaround
    and ACK air time) when it is an acknowledged unicast, then the interframe spacing."""
    t = airtime_us(psdu_len, bitrate_kbps)
    if acked:
        t += TURNAROUND_US + airtime_us(ACK_PSDU_LEN, bitrate_kbps)
    return t + ifs_us(psdu_len)


@dataclass(frozen=True)
class Mac:
    """The MAC header fields the medium needs. Addresses are in RIOT's (network) byte order,
    i.e. reversed from the little-endian air order: an EUI-64 reads as printed."""
    ftype: int
    seq: int
    ack_request: bool
    dst: bytes | None = None
    dst_pan: int | None = None
    src: bytes | None = None
    src_pan: int | None = None

    @property
    def broadcast(self):
        """No destination address, or the short broadcast address."""
        return self.dst is None or self.dst == BROADCAST_SHORT


def parse_mac(psdu):
    """Parse the MAC header of a PSDU (FCS included) of frame version 0/1 (802.15.4-2003/2006,
    what RIOT sends), as RIOT's ieee802154_get_dst/src do. Returns None when malformed."""
    if len(psdu) < ACK_PSDU_LEN:
        return None
    fcf = psdu[0] | psdu[1] << 8
    ftype, seq = fcf & 0x07, psdu[2]
    if ftype == FT_ACK:
        return Mac(FT_ACK, seq, False)
    dst_mode, src_mode = (fcf >> 10) & 3, (fcf >> 14) & 3
    pan_comp = bool(fcf & 0x40)
    if dst_mode == 1 or src_mode == 1 or (dst_mode == 0 and pan_comp):
        return None  # reserved modes; PAN compression without a destination
    pos, end = 3, len(psdu) - 2
    fields = {}
    for name, mode in (("dst", dst_mode), ("src", src_mode)):
        if mode == 0:
            continue
        if name == "dst" or not pan_comp:
            if pos + 2 > end:
                return None
            fields[name + "_pan"] = int.from_bytes(psdu[pos:pos + 2], "little")
            pos += 2
        else:
            fields["src_pan"] = fields["dst_pan"]
        n = 2 if mode == 2 else 8
        if pos + n > end:
            return None
        fields[name] = bytes(psdu[pos:pos + n][::-1])
        pos += n
    return Mac(ftype, seq, bool(fcf & 0x20), **fields)


def parse_zep(data):
    """(type, channel, payload) of a ZEP v2 datagram, or None. The payload is the PSDU of a
    data datagram, the EUI-64 of a HELLO (both: `length` bytes after the 32-byte header)."""
    if len(data) < ZEP_HEADER_LEN or data[:2] != b"EX" or data[2] != 2:
        return None
    payload = data[ZEP_HEADER_LEN:ZEP_HEADER_LEN + data[31]]
    if len(payload) != data[31]:
        return None
    return data[3], data[4], payload


def zep_datagram(channel, psdu, seq=0, ztype=ZEP_TYPE_DATA, when=None):
    """A ZEP v2 data datagram as socket_zep writes it (LQI mode 1, LQI 0xff, NTP time)."""
    when = time.time() if when is None else when
    secs = int(when)
    resv = b"HELLO".ljust(10, b"\0") if ztype == ZEP_TYPE_HELLO else bytes(10)
    header = struct.pack(">2sBBBHBBIII10sB", b"EX", 2, ztype, channel, 0, 1, 0xff,
                         (secs + NTP_EPOCH_OFFSET) & 0xffffffff,
                         int((when - secs) * 2**32) & 0xffffffff, seq & 0xffffffff, resv,
                         len(psdu))
    return header + bytes(psdu)


def with_fcs(mpdu):
    """The MPDU with its FCS appended (little-endian, as socket_zep's _write)."""
    return bytes(mpdu) + crc16_kermit(mpdu).to_bytes(2, "little")


def ack_psdu(seq):
    """The ACK frame RIOT's SubMAC sends (FCF 0x02 0x00, sequence number) with its FCS."""
    return with_fcs(bytes([FT_ACK, 0x00, seq & 0xff]))


def parse_eui(text):
    """8 bytes from an EUI-64 written 00:5a:45:50:0a:00:00:01 (also with '-' or no separators)."""
    digits = text.strip().replace(":", "").replace("-", "")
    raw = bytes.fromhex(digits)
    if len(raw) != 8:
        raise ValueError(f"not an EUI-64: {text!r}")
    return raw


def fmt_addr(addr):
    """An address as colon-separated hex, as RIOT prints it."""
    return ":".join(f"{b:02x}" for b in addr)


class Topology:
    """Who hears whom. Without links everybody hears everybody with `default_loss`; with links
    (pairs of EUI-64, undirected, each with a loss probability or None for the default) only
    linked nodes hear each other."""

    def __init__(self, links=None, default_loss=0.0):
        self.default_loss = default_loss
        self.links = None
        if links is not None:
            self.links = {frozenset((a, b)): (default_loss if loss is None else loss)
                          for a, b, loss in links}
        self.names = {eui for pair in (self.links or {}) for eui in pair}

    @classmethod
    def chain(cls, euis, default_loss=0.0):
        """Neighbours only consecutive entries of `euis` (strings)."""
        nodes = [parse_eui(e) for e in euis]
        return cls([(a, b, None) for a, b in zip(nodes, nodes[1:])], default_loss)

    @classmethod
    def from_lines(cls, lines, default_loss=0.0):
        """Lines `EUI EUI [loss]`, `#` starts a comment."""
        links = []
        for number, line in enumerate(lines, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) not in (2, 3):
                raise ValueError(f"topology line {number}: want `EUI EUI [loss]`: {line!r}")
            loss = float(words[2]) if len(words) == 3 else None
            if loss is not None and not 0.0 <= loss <= 1.0:
                raise ValueError(f"topology line {number}: loss not in 0..1: {line!r}")
            links.append((parse_eui(words[0]), parse_eui(words[1]), loss))
        return cls(links, default_loss)

    @property
    def full_mesh(self):
        """True without a chain or topology file."""
        return self.links is None

    def loss(self, a, b):
        """Loss probability of the link between EUI-64s a and b (None: unknown EUI), or None
        when they do not hear each other."""
        if self.links is None:
            return self.default_loss
        return self.links.get(frozenset((a, b)))


class Node:
    """A socket_zep instance, known by the UDP address it sends from."""

    def __init__(self, sockaddr):
        self.sockaddr = sockaddr
        self.label = f"[{sockaddr[0]}]:{sockaddr[1]}"
        self.eui = None  # the EUI-64 it is known by (the topology's name for it, if any)
        self.queue = deque()  # Deliveries held for it, in order
        self.guard_until = float("-inf")
        self.expect = None  # the Delivery whose ACK from this node is awaited
        self.wake_at = None
        self.deaf = False  # it left a frame unconfirmed: no hub ACKs for it until it ACKs
        self.last_psdu = None
        self.unknown = deque(maxlen=8)  # (seq, dst, until) of frames for unannounced addresses
        self.warned = False


@dataclass
class Tx:
    """One frame on the air."""
    src: Node
    data: bytes
    mac: Mac | None
    psdu_len: int
    receivers: list
    confirm_from: Node | None = None  # the destination the hub ACKed for
    unknown_dst: bool = False
    attempt: int = 0
    end: float = 0.0  # end of its air time on the channel: delivery


@dataclass
class Delivery:
    """A frame for one receiver, delivered when `ready` has come and the receiver is free."""
    tx: Tx
    node: Node
    ready: float
    held: bool = False


class Medium:
    """The medium; see zep_hub.py for the model. Times are monotonic seconds (floats); the
    trace gives microseconds since `t0`."""

    def __init__(self, send, *, topology=None, loss=0.0, bitrate_kbps=250, airtime=True,
                 ack_delay_us=TURNAROUND_US, guard_us=1000, rx_confirm_ms=20.0,
                 max_defer_ms=40.0, seed=None, log=None, trace=None, t0=0.0):
        self.send = send
        self.topology = topology or Topology(default_loss=loss)
        self.bitrate = bitrate_kbps
        self.airtime = airtime
        self.ack_delay = ack_delay_us / 1e6
        self.guard = guard_us / 1e6
        self.rx_confirm = rx_confirm_ms / 1e3
        self.max_defer = max_defer_ms / 1e3
        self.rng = random.Random(seed)
        self.log = log or (lambda line: None)
        self.trace = trace
        self.t0 = t0
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.nodes = {}
        self.by_addr = {}  # long or short address (network order) -> Node
        self.channel_free = float("-inf")
        self._events = []
        self._event_seq = 0
        self._zep_seq = 0

    # --- events -------------------------------------------------------------------------------

    def _at(self, when, fn, *args):
        heapq.heappush(self._events, (when, self._event_seq, fn, args))
        self._event_seq += 1

    def next_time(self):
        """When the next event is due, or None."""
        return self._events[0][0] if self._events else None

    def run_due(self, now):
        """Run every event due at `now` (events scheduled by them for `now` included)."""
        while self._events and self._events[0][0] <= now:
            when, _, fn, args = heapq.heappop(self._events)
            fn(now, when, *args)

    def _trace(self, kind, now, at=None, **fields):
        if self.trace is not None:
            rec = {"kind": kind, "t": round((now - self.t0) * 1e6),
                   "at": round(((now if at is None else at) - self.t0) * 1e6), **fields}
            self.trace(rec)

    def summary(self, prefix="zep_hub: "):
        """The counters line."""
        self.counters["nodes"] = len(self.nodes)
        return prefix + " ".join(f"{k}={v}" for k, v in self.counters.items())

    # --- nodes and addresses ------------------------------------------------------------------

    def _node(self, sockaddr):
        node = self.nodes.get(sockaddr)
        if node is None:
            node = self.nodes[sockaddr] = Node(sockaddr)
            self.counters["nodes"] = len(self.nodes)
            self.log(f"zep_hub: node {node.label}")
        return node

    def _learn(self, node, addr):
        if self.by_addr.get(addr) is not node:
            self.by_addr[addr] = node
            self.log(f"zep_hub: node {node.label} has address {fmt_addr(addr)}")
        if len(addr) == 8 and (node.eui is None or (addr in self.topology.names
                                                    and node.eui not in self.topology.names)):
            node.eui = addr

    def _placed(self, node):
        placed = self.topology.full_mesh or node.eui in self.topology.names
        if not placed and not node.warned:
            node.warned = True
            eui = fmt_addr(node.eui) if node.eui else "EUI-64 unknown"
            self.log(f"zep_hub: warning: node {node.label} ({eui}) is not in the topology: "
                     "it hears nobody and nobody hears it")
        return placed

    def _link_loss(self, a, b):
        if a is b or not (self._placed(a) and self._placed(b)):
            return None
        return self.topology.loss(a.eui, b.eui)

    def _survives(self, now, src, dst, loss):
        if self.rng.random() < loss:
            self.counters["lost"] += 1
            self._trace("lost", now, src=src.label, dst=dst.label)
            return False
        return True

    # --- datagrams from nodes -----------------------------------------------------------------

    def on_datagram(self, now, sockaddr, data):
        """A datagram from `sockaddr` reached the hub at `now`."""
        node = self._node(sockaddr)
        zep = parse_zep(data)
        if zep is None or zep[0] not in (ZEP_TYPE_DATA, ZEP_TYPE_HELLO):
            self.counters["invalid"] += 1
            return
        ztype, channel, payload = zep
        if ztype == ZEP_TYPE_HELLO:
            self.counters["hellos"] += 1
            if len(payload) == 8:
                self._learn(node, bytes(payload))
                self._placed(node)
            return
        mac = parse_mac(payload)
        if mac is not None and mac.ftype == FT_ACK:
            self._node_ack(now, node, mac.seq)
        else:
            self._frame(now, node, data, channel, payload, mac)

    def _node_ack(self, now, node, seq):
        # Never forwarded: the hub ACKed already. It tells that the node took the frame, and
        # that the node is in the window in which a frame would hit the SubMAC assertion.
        self.counters["node_acks"] += 1
        self._trace("node_ack", now, src=node.label, seq=seq)
        node.guard_until = max(node.guard_until, now + self.guard)
        node.deaf = False
        pending = node.expect
        if pending is not None and pending.tx.mac.seq == seq:
            node.expect = None
        else:
            for useq, dst, until in node.unknown:
                if useq == seq and until >= now:
                    self._learn(node, dst)
        self._pump(now, node)

    def _frame(self, now, node, data, channel, psdu, mac):
        self.counters["frames"] += 1
        self.counters["psdu_bytes"] += len(psdu)
        if mac is not None and mac.src is not None:
            self._learn(node, mac.src)
        if psdu == node.last_psdu:
            self.counters["retransmissions"] += 1  # same seq and bytes: it missed our ACK
        node.last_psdu = psdu
        # The sender is in TX / waiting for its ACK / idle until its netif thread re-enables
        # RX: a frame delivered to it now would be discarded.
        node.guard_until = max(node.guard_until, now + self.guard)
        self._trace("rx", now, src=node.label, seq=mac.seq if mac else -1, len=len(psdu))
        if not self._placed(node):
            self.counters["dropped_no_neighbour"] += 1
            return
        tx = Tx(node, data, mac, len(psdu), [])
        dest = None
        if mac is not None and not mac.broadcast:
            dest = self.by_addr.get(mac.dst)
        if dest is not None:
            loss = self._link_loss(node, dest)
            if loss is None:
                self.counters["dropped_no_neighbour"] += 1
                return
            if not self._survives(now, node, dest, loss):
                return  # no ACK: the sender retransmits
            tx.receivers = [dest]
            if mac.ftype == FT_DATA and mac.ack_request and not dest.deaf:
                tx.confirm_from = dest
        else:
            # Broadcast, or a unicast for an address nobody announced: every neighbour gets it
            # (the addressee's filter takes it), nobody is ACKed for.
            tx.unknown_dst = mac is not None and not mac.broadcast
            self.counters["unknown_dst"] += tx.unknown_dst
            neighbours = [(n, self._link_loss(node, n)) for n in list(self.nodes.values())]
            neighbours = [(n, loss) for n, loss in neighbours if loss is not None]
            if not neighbours:
                self.counters["dropped_no_neighbour"] += 1
                return
            tx.receivers = [n for n, loss in neighbours if self._survives(now, node, n, loss)]
            if not tx.receivers:
                return
        if not self._on_air(now, tx, drop_if_late=True):
            return
        if tx.confirm_from is not None:
            # Within the sender's 864 us window, whatever the channel does after.
            self._at(now + self.ack_delay, self._send_ack, node, channel, mac.seq)

    # --- channel and delivery -----------------------------------------------------------------

    def _on_air(self, now, tx, drop_if_late=False):
        """Schedule the end of tx's air time on the channel; False if it waited too long."""
        end = now
        if self.airtime:
            air = airtime_us(tx.psdu_len, self.bitrate) / 1e6
            # Its air time (already elapsed at the sender) must fit on a free channel.
            end = max(now, self.channel_free + air)
            if drop_if_late and end - now > self.max_defer:
                self.counters["busy_dropped"] += 1
                self._trace("busy_dropped", now, src=tx.src.label)
                return False
            acked = tx.confirm_from is not None
            self.channel_free = end + busy_us(tx.psdu_len, acked, self.bitrate) / 1e6 - air
            if end > now:
                self.counters["deferred"] += 1
                self._trace("deferred", now, at=end, src=tx.src.label)
        tx.end = end
        self._at(end, self._air_end, tx)
        return True

    def _air_end(self, now, when, tx):
        for node in tx.receivers:
            if len(node.queue) >= RX_QUEUE_MAX:
                self.counters["queue_dropped"] += 1
                continue
            node.queue.append(Delivery(tx, node, when))
            self._pump(now, node)

    def _send_ack(self, now, when, node, channel, seq):
        self._zep_seq += 1
        self._send(node, zep_datagram(channel, ack_psdu(seq), self._zep_seq))
        self.counters["acks_generated"] += 1
        self._trace("ack", now, at=when, dst=node.label, seq=seq)

    def _send(self, node, data):
        try:
            self.send(node.sockaddr, data)
        except OSError:
            pass  # a node that stopped; it stays known (it may come back on the same port)

    def _pump(self, now, node):
        """Deliver the frames held for `node` that may be delivered now."""
        while node.queue:
            head = node.queue[0]
            if node.expect is not None or node.guard_until > now:
                if not head.held:
                    head.held = True
                    self.counters["held"] += 1
                if node.expect is None:
                    self._wake(node, node.guard_until)
                return  # else the node's ACK or the confirm timeout pumps again
            if head.ready > now:
                self._wake(node, head.ready)
                return
            node.queue.popleft()
            self._deliver(now, head)

    def _wake(self, node, when):
        if node.wake_at != when:
            node.wake_at = when
            self._at(when, self._on_wake, node)

    def _on_wake(self, now, when, node):
        if node.wake_at == when:
            node.wake_at = None
        self._pump(now, node)

    def _deliver(self, now, d):
        tx, node = d.tx, d.node
        self._send(node, tx.data)
        self.counters["delivered"] += 1
        self._trace("deliver", now, at=tx.end, src=tx.src.label, dst=node.label,
                    seq=tx.mac.seq if tx.mac else -1, attempt=tx.attempt)
        node.guard_until = now + self.guard
        if tx.confirm_from is node:
            node.expect = d
            self._at(now + self.rx_confirm, self._confirm_timeout, node, d)
        elif tx.unknown_dst and tx.mac.ack_request:
            node.unknown.append((tx.mac.seq, tx.mac.dst, now + self.rx_confirm))

    def _confirm_timeout(self, now, when, node, d):
        if node.expect is not d:
            return  # confirmed
        node.expect = None
        tx = d.tx
        if tx.attempt < MAX_REDELIVERIES:
            # The node discarded it (not in RX_ON). The sender got our ACK and will not
            # retransmit, so the hub does, ahead of what the node got queued since.
            self.counters["redelivered"] += 1
            again = Tx(tx.src, tx.data, tx.mac, tx.psdu_len, [node], node, attempt=tx.attempt + 1)
            self._on_air(now, again)
            node.queue.appendleft(Delivery(again, node, again.end))
            # Its scheduled _air_end would queue it a second time.
            again.receivers = []
            self._trace("redeliver", now, at=again.end, dst=node.label, seq=tx.mac.seq,
                        attempt=again.attempt)
        else:
            self.counters["unconfirmed"] += 1
            node.deaf = True
            self._trace("unconfirmed", now, dst=node.label, seq=tx.mac.seq)
        self._pump(now, node)
