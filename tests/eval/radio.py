"""IEEE 802.15.4 / 6LoWPAN arithmetic of the medium model, and the topologies.

Frame budget (paper section 6.4, IEEE 802.15.4-2006 2.4 GHz O-QPSK PHY):

    PHY frame (PSDU)         127 bytes (aMaxPHYPacketSize)
    MAC header + FCS          23 bytes: frame control 2, sequence number 1, PAN ID 2,
                                        destination and source EUI-64 8 + 8, FCS 2
    left for 6LoWPAN         104 bytes (MAC_PAYLOAD)
    IPHC + NHC UDP            41 bytes (the paper's setup: IPHC 2, hop limit 1, both IPv6
                                        addresses inline 32, compressed UDP header 6)
    FRAG1 / FRAGN header      4 / 5 bytes (RFC 4944 5.3)
    PHY overhead per frame     6 bytes: preamble 4, SFD 1, PHR 1 (sent, not in the 127)

A UDP payload of L bytes fits one frame when IPHC + L <= 104 (L <= 63). Otherwise RFC 4944
fragmentation: fragment offsets count 8-byte units of the *uncompressed* datagram (IPv6 40 +
UDP 8 + L), so every fragment but the last carries a multiple of 8 uncompressed bytes. The first
fragment carries the compressed headers (41 bytes, standing for 48 uncompressed) and
floor((104 - 4 - 41 + 48) / 8) * 8 - 48 = 56 payload bytes; each further fragment
floor((104 - 5) / 8) * 8 = 96; the last the rest. Example, a 186-byte install message:
56 + 96 + 34 -> 3 frames of 23+4+41+56 = 124, 23+5+96 = 124 and 23+5+34 = 62 bytes; with
6 PHY bytes each 328 bytes on air, 10.496 ms at 250 kbit/s (32 us per byte).

Per frame the sender also waits for the link-layer ACK: aTurnaroundTime (12 symbols, 192 us at
250 kbit/s) plus the 11-byte ACK (5 MAC + 6 PHY), and CSMA-CA backs off before it sends:
unit backoff 20 symbols (320 us), a uniform 0..2^BE-1 units with macMinBE = 3, plus one CCA
(8 symbols, 128 us). `hop_us` is the time one hop holds the channel; the medium (medium.py)
draws the backoffs from its seeded generator. At 2000 kbit/s the byte times shrink by 8 and
the symbol-based times are kept as at 250 kbit/s (the AT86RF231's high-rate modes keep the
250 kbit/s timing of the MAC; a simplification, stated here).
"""

import math

PSDU_MAX = 127
MAC_OVERHEAD = 23
MAC_PAYLOAD = PSDU_MAX - MAC_OVERHEAD
IPHC_BYTES = 41
IPV6_UDP_UNCOMPRESSED = 48
FRAG1_HEADER = 4
FRAGN_HEADER = 5
PHY_OVERHEAD = 6
ACK_BYTES = 5 + PHY_OVERHEAD
TURNAROUND_US = 192.0
UNIT_BACKOFF_US = 320.0
CCA_US = 128.0
MIN_BE = 3
MAX_DATAGRAM = 1280 - IPV6_UDP_UNCOMPRESSED
"""Largest UDP payload the model carries (IPv6 minimum MTU); larger ones are dropped."""


def fragments(payload, iphc=IPHC_BYTES):
    """UDP payload bytes per 802.15.4 frame for a datagram of `payload` bytes."""
    if payload < 0 or payload > MAX_DATAGRAM:
        raise ValueError(f"UDP payload {payload}: the model carries 0..{MAX_DATAGRAM} bytes")
    if iphc + payload <= MAC_PAYLOAD:
        return [payload]
    first = (MAC_PAYLOAD - FRAG1_HEADER - iphc + IPV6_UDP_UNCOMPRESSED) // 8 * 8 \
        - IPV6_UDP_UNCOMPRESSED
    nth = (MAC_PAYLOAD - FRAGN_HEADER) // 8 * 8
    out = [first]
    rest = payload - first
    while rest > 0:
        out.append(min(nth, rest))
        rest -= out[-1]
    return out


def frame_sizes(payload, iphc=IPHC_BYTES):
    """MAC frame bytes (header and FCS included, PHY overhead not) of each frame."""
    parts = fragments(payload, iphc)
    if len(parts) == 1:
        return [MAC_OVERHEAD + iphc + payload]
    return [MAC_OVERHEAD + FRAG1_HEADER + iphc + parts[0]] + \
        [MAC_OVERHEAD + FRAGN_HEADER + p for p in parts[1:]]


def byte_us(bitrate_kbps):
    """Microseconds per byte on air."""
    return 8000.0 / bitrate_kbps


def airtime_us(payload, bitrate_kbps=250, iphc=IPHC_BYTES):
    """Air time of the datagram's frames (PHY overhead included, ACKs and backoffs not)."""
    return sum(f + PHY_OVERHEAD for f in frame_sizes(payload, iphc)) * byte_us(bitrate_kbps)


def ack_us(bitrate_kbps=250):
    """Turnaround and ACK frame after each data frame."""
    return TURNAROUND_US + ACK_BYTES * byte_us(bitrate_kbps)


def hop_us(payload, bitrate_kbps=250, backoff_units=None, iphc=IPHC_BYTES):
    """Channel time of one hop: per frame CSMA (`backoff_units[i]` unit backoffs, default the
    mean 3.5) + CCA + frame + turnaround + ACK."""
    sizes = frame_sizes(payload, iphc)
    units = backoff_units or [(2 ** MIN_BE - 1) / 2.0] * len(sizes)
    return sum(u * UNIT_BACKOFF_US + CCA_US + (f + PHY_OVERHEAD) * byte_us(bitrate_kbps)
               + ack_us(bitrate_kbps) for f, u in zip(sizes, units))


def chain(forwarders):
    """Adjacency of the paper's Fig. 6 chain: gw - f1 - ... - fN - {host, requester}, host
    and requester also neighbours."""
    names = ["gw"] + [f"f{i}" for i in range(1, forwarders + 1)]
    adj = {n: set() for n in names + ["host", "requester"]}
    for a, b in zip(names, names[1:]):
        adj[a].add(b)
        adj[b].add(a)
    for n in ("host", "requester"):
        adj[n].add(names[-1])
        adj[names[-1]].add(n)
    adj["host"].add("requester")
    adj["requester"].add("host")
    return adj


def path(adj, src, dst):
    """Shortest node path src .. dst (breadth first, neighbours in sorted order), or None."""
    prev = {src: None}
    todo = [src]
    for n in todo:
        if n == dst:
            out = [n]
            while prev[out[-1]] is not None:
                out.append(prev[out[-1]])
            return out[::-1]
        for m in sorted(adj[n]):
            if m not in prev:
                prev[m] = n
                todo.append(m)
    return None


def random_topology(rng, nodes=20, min_m=2.2, max_m=6.6, tries=10_000):
    """A random topology with the paper's rules (section 6.5): each new node at least `min_m`
    from every placed node and at most `max_m` from one of them (so the graph is connected);
    nodes within `max_m` are neighbours. Node 0 is the gateway; host and requester are two
    distinct other nodes drawn at random. Returns positions, adjacency, the roles and hops."""
    pos = [(0.0, 0.0)]
    for _ in range(tries):
        if len(pos) == nodes:
            break
        ax, ay = pos[rng.randrange(len(pos))]
        r, a = rng.uniform(min_m, max_m), rng.uniform(0, 2 * math.pi)
        p = (ax + r * math.cos(a), ay + r * math.sin(a))
        if all(math.dist(p, q) >= min_m for q in pos):
            pos.append(p)
    if len(pos) < nodes:
        raise ValueError(f"could not place {nodes} nodes with distances {min_m}..{max_m} m")
    names = ["gw"] + [f"n{i}" for i in range(1, nodes)]
    adj = {n: set() for n in names}
    for i, p in enumerate(pos):
        for j, q in enumerate(pos):
            if i != j and math.dist(p, q) <= max_m:
                adj[names[i]].add(names[j])
    h, r = rng.sample(names[1:], 2)
    hops = {"host-requester": len(path(adj, h, r)) - 1,
            "host-server": len(path(adj, h, "gw")) - 1,
            "requester-server": len(path(adj, r, "gw")) - 1}
    return {"positions": pos, "names": names, "adj": adj, "host": h, "requester": r,
            "hops": hops}
