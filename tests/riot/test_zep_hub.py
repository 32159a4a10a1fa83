"""Tests of the simulated 802.15.4 medium (tests/riot/zep_medium.py) and its hub (zep_hub.py).

    target/venv/bin/python -m pytest -q tests/riot/test_zep_hub.py

Pure functions, then the medium driven by a fake clock (deterministic), then the hub process
over loopback with fake nodes (UDP sockets on [::1]). Timing is asserted only on the hub's own
timestamps (its --trace lines), never on how long a test took; every wait has a timeout.
"""

import binascii
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import zep_medium as zm  # noqa: E402

EUI_A = zm.parse_eui("00:5a:45:50:0a:00:00:01")
EUI_B = zm.parse_eui("00:5a:45:50:0a:00:00:02")
EUI_C = zm.parse_eui("00:5a:45:50:0a:00:00:03")
CHANNEL = 26


def frame(seq, src, dst, ar=True, panc=True, pan=0x23, payload=b"p" * 10):
    """A data frame as RIOT's ieee802154_set_frame_hdr builds it, with FCS (addresses given in
    network order, written reversed)."""
    fc0 = zm.FT_DATA | (0x20 if ar else 0) | (0x40 if panc else 0)
    fc1 = {2: 0x08, 8: 0x0c}[len(dst)] | 0x10 | {2: 0x80, 8: 0xc0}[len(src)]
    pan_le = pan.to_bytes(2, "little")
    mhr = bytes([fc0, fc1, seq]) + pan_le + dst[::-1] + (b"" if panc else pan_le) + src[::-1]
    return zm.with_fcs(mhr + payload)


def zep(psdu):
    return zm.zep_datagram(CHANNEL, psdu)


def hello(eui):
    return zm.zep_datagram(0, eui, ztype=zm.ZEP_TYPE_HELLO)


def kermit_via_xmodem(data):
    """CRC-16/KERMIT computed independently: the bit-reflected CRC-16/XMODEM (crc_hqx)."""
    def rev(v, bits):
        return int(f"{v:0{bits}b}"[::-1], 2)
    return rev(binascii.crc_hqx(bytes(rev(b, 8) for b in data), 0), 16)


# --- pure functions ---------------------------------------------------------------------------

def test_airtime_figures():
    assert zm.airtime_us(1) == 7 * 32  # 32 us per byte at 250 kbit/s, PHY header included
    assert zm.airtime_us(127) == 4256
    assert zm.airtime_us(5) == 352  # an ACK
    assert zm.airtime_us(127, 2000) == 532
    assert zm.ifs_us(18) == 192 and zm.ifs_us(19) == 640
    assert zm.busy_us(127, acked=True) == 4256 + 192 + 352 + 640
    assert zm.busy_us(10, acked=False) == 16 * 32 + 192


def test_crc16_kermit_vectors():
    # RIOT's tests/unittests/tests-checksum/tests-checksum-crc16-ccitt-kermit.c
    assert zm.crc16_kermit(b"123456789") == 0x2189  # on the air: bytes 89 21
    assert zm.crc16_kermit(b"A") == 0x538D
    assert zm.crc16_kermit(bytes([0x12, 0x34, 0x56, 0x78])) == 0x67F0
    assert zm.crc16_kermit(b"A" * 256) == 0xE7E2
    assert zm.with_fcs(b"123456789")[-2:] == b"\x89\x21"
    for data in (b"\x02\x00\x07", b"\x61\xdc\x01" + bytes(range(40))):
        assert zm.crc16_kermit(data) == kermit_via_xmodem(data)


def test_ack_frame_bytes():
    psdu = zm.ack_psdu(0x2A)
    assert psdu[:3] == b"\x02\x00\x2a"
    assert int.from_bytes(psdu[3:], "little") == kermit_via_xmodem(b"\x02\x00\x2a")
    dgram = zm.zep_datagram(CHANNEL, psdu, seq=7)
    assert len(dgram) == 32 + 5
    assert dgram[:5] == b"EX\x02\x01" + bytes([CHANNEL])
    assert dgram[7:9] == b"\x01\xff"  # LQI mode, LQI
    assert dgram[17:21] == (7).to_bytes(4, "big") and dgram[21:31] == bytes(10)
    assert dgram[31] == 5 and dgram[32:] == psdu
    assert zm.parse_zep(dgram) == (zm.ZEP_TYPE_DATA, CHANNEL, psdu)
    assert zm.parse_mac(psdu) == zm.Mac(zm.FT_ACK, 0x2A, False)


def test_parse_mac_long_addresses_pan_compressed():
    # RIOT's 6LoWPAN frames: data, AR, PAN ID compression, long dst and src, version 1.
    psdu = bytes.fromhex("61dc0523000100000a50455a000200000a50455a00") + b"hi" + b"\0\0"
    mac = zm.parse_mac(psdu)
    assert mac == zm.Mac(zm.FT_DATA, 5, True, dst=EUI_A, dst_pan=0x23, src=EUI_B, src_pan=0x23)
    assert not mac.broadcast
    assert zm.parse_mac(frame(5, EUI_B, EUI_A)) == mac


def test_parse_mac_short_broadcast_and_no_pan_compression():
    bcast = zm.parse_mac(frame(9, EUI_A, zm.BROADCAST_SHORT, ar=False))
    assert bcast.broadcast and not bcast.ack_request and bcast.src == EUI_A
    mac = zm.parse_mac(frame(3, b"\x12\x34", b"\x00\x02", panc=False, pan=0xabcd))
    assert mac == zm.Mac(zm.FT_DATA, 3, True, dst=b"\x00\x02", dst_pan=0xabcd,
                         src=b"\x12\x34", src_pan=0xabcd)
    # PAN IDs differ: both are there.
    psdu = bytes.fromhex("2188010100020002003412") + b"\0\0"
    assert zm.parse_mac(psdu) == zm.Mac(zm.FT_DATA, 1, True, dst=b"\x00\x02", dst_pan=0x0001,
                                        src=b"\x12\x34", src_pan=0x0002)


def test_parse_mac_rejects_malformed():
    assert zm.parse_mac(frame(1, EUI_A, EUI_B)[:12]) is None  # truncated in the src address
    assert zm.parse_mac(bytes.fromhex("4104010000")) is None  # reserved dst mode
    assert zm.parse_mac(bytes.fromhex("41c0010102030405060708")) is None  # PAN comp, no dst
    assert zm.parse_mac(b"\x02\x00") is None


def test_topology_parsing():
    topo = zm.Topology.from_lines(["# comment", "00:5a:45:50:0a:00:00:01 00:5a:45:50:0a:00:00:02",
                                   "005a45500a000002 00-5a-45-50-0a-00-00-03 0.25  # lossy", ""],
                                  default_loss=0.1)
    assert topo.loss(EUI_B, EUI_A) == 0.1 and topo.loss(EUI_B, EUI_C) == 0.25
    assert topo.loss(EUI_A, EUI_C) is None and topo.loss(None, EUI_A) is None
    for bad in (["00:5a 00:01"], ["00:5a:45:50:0a:00:00:01 00:5a:45:50:0a:00:00:02 2"]):
        with pytest.raises(ValueError):
            zm.Topology.from_lines(bad)
    chain = zm.Topology.chain(["00:5a:45:50:0a:00:00:01", "00:5a:45:50:0a:00:00:02",
                               "00:5a:45:50:0a:00:00:03"])
    assert chain.loss(EUI_A, EUI_B) == 0 and chain.loss(EUI_C, EUI_B) == 0
    assert chain.loss(EUI_A, EUI_C) is None


# --- the medium with a fake clock -------------------------------------------------------------

A, B, C = ("::1", 1001), ("::1", 1002), ("::1", 1003)


class Sim:
    """A Medium driven by a fake clock; `sent` holds (time, destination, datagram)."""

    def __init__(self, **kw):
        self.now = 0.0
        self.sent, self.trace, self.lines = [], [], []
        self.m = zm.Medium(self._send, trace=self.trace.append, log=self.lines.append, **kw)

    def _send(self, addr, data):
        self.sent.append((self.now, addr, data))

    def advance(self, until):
        while self.m.next_time() is not None and self.m.next_time() <= until:
            self.now = self.m.next_time()
            self.m.run_due(self.now)
        self.now = max(self.now, until)

    def rx(self, t, src, data):
        self.advance(t)
        self.m.on_datagram(t, src, data)
        self.m.run_due(t)

    def to(self, addr, kind=None):
        """(time, PSDU) sent to addr; kind 'ack' or 'data' filters."""
        out = [(t, zm.parse_zep(d)[2]) for t, a, d in self.sent if a == addr]
        if kind:
            want_ack = kind == "ack"
            out = [(t, p) for t, p in out if (zm.parse_mac(p).ftype == zm.FT_ACK) == want_ack]
        return out

    def events(self, kind):
        return [r for r in self.trace if r["kind"] == kind]


def sim_with_nodes(**kw):
    s = Sim(**kw)
    for t, addr, eui in ((0.0, A, EUI_A), (0.0, B, EUI_B), (0.0, C, EUI_C)):
        s.rx(t, addr, hello(eui))
    return s


def test_ar_unicast_one_ack_one_delivery():
    s = sim_with_nodes()
    psdu = frame(7, EUI_A, EUI_B)
    s.rx(1.0, A, zep(psdu))
    s.rx(1.0005, B, zep(zm.ack_psdu(7)))
    s.advance(1.1)
    assert s.to(B) == [(1.0, psdu)]  # free channel: at once
    assert s.to(A) == [(pytest.approx(1.0 + 192e-6), zm.ack_psdu(7))]
    assert s.to(C) == []
    assert s.m.counters["acks_generated"] == 1 and s.m.counters["delivered"] == 1


def test_node_ack_is_not_forwarded_and_confirms():
    s = sim_with_nodes()
    s.rx(1.0, A, zep(frame(7, EUI_A, EUI_B)))
    s.advance(1.0005)
    before = len(s.sent)
    s.rx(1.001, B, zep(zm.ack_psdu(7)))
    s.advance(2.0)
    assert len(s.sent) == before  # nothing forwarded, no re-delivery
    assert s.m.counters["node_acks"] == 1 and s.m.counters["redelivered"] == 0


def test_short_destination_learned_from_source_field():
    s = Sim()
    s.rx(0.0, B, zep(frame(1, b"\x00\x02", zm.BROADCAST_SHORT, ar=False)))
    s.rx(0.0, A, zep(frame(2, b"\x00\x01", b"\x00\x02", panc=False)))
    s.rx(0.001, B, zep(zm.ack_psdu(2)))
    s.advance(1.0)
    assert [p[2] for _, p in s.to(A, "ack")] == [2]
    assert [zm.parse_mac(p).seq for _, p in s.to(B)] == [2]


def test_chain_topology():
    s = sim_with_nodes(topology=zm.Topology.chain(
        ["00:5a:45:50:0a:00:00:01", "00:5a:45:50:0a:00:00:02", "00:5a:45:50:0a:00:00:03"]))
    s.rx(1.0, A, zep(frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False)))
    s.rx(1.1, A, zep(frame(2, EUI_A, EUI_C)))  # C is not A's neighbour
    s.advance(2.0)
    assert [zm.parse_mac(p).seq for _, p in s.to(B)] == [1]
    assert s.to(C) == [] and s.to(A) == []
    assert s.m.counters["dropped_no_neighbour"] == 1


def test_node_outside_topology_is_isolated_with_one_warning():
    s = sim_with_nodes(topology=zm.Topology.chain(["00:5a:45:50:0a:00:00:01",
                                                   "00:5a:45:50:0a:00:00:02"]))
    s.rx(1.0, C, zep(frame(1, EUI_C, zm.BROADCAST_SHORT, ar=False)))
    s.rx(1.1, C, zep(frame(2, EUI_C, zm.BROADCAST_SHORT, ar=False)))
    s.advance(2.0)
    assert s.to(A) == [] and s.to(B) == []
    assert len([line for line in s.lines if "warning" in line and "1003" in line]) == 1


def test_loss_one_gives_no_delivery_and_no_ack():
    s = sim_with_nodes(loss=1.0, seed=1)
    s.rx(1.0, A, zep(frame(1, EUI_A, EUI_B)))
    s.rx(1.1, A, zep(frame(2, EUI_A, zm.BROADCAST_SHORT, ar=False)))
    s.advance(2.0)
    assert s.sent == []
    assert s.m.counters["lost"] == 3  # B for the unicast, B and C for the broadcast


def test_deferral_spaces_deliveries_by_the_busy_time():
    s = sim_with_nodes()
    first, second = frame(1, EUI_A, EUI_B, payload=bytes(100)), frame(2, EUI_C, EUI_B,
                                                                      payload=bytes(100))
    s.rx(1.0, A, zep(first))
    s.rx(1.0 + 10e-6, C, zep(second))  # while the first one's ACK exchange occupies the air
    s.rx(1.0 + 300e-6, B, zep(zm.ack_psdu(1)))
    s.rx(1.015, B, zep(zm.ack_psdu(2)))
    s.advance(2.0)
    deliveries = s.events("deliver")
    assert [d["seq"] for d in deliveries] == [1, 2]
    busy = zm.busy_us(len(first), acked=True)
    assert deliveries[1]["at"] - deliveries[0]["at"] >= busy - 1
    # The ACK for the deferred frame is not behind the channel.
    assert s.to(C, "ack")[0][0] == pytest.approx(1.0 + 10e-6 + 192e-6)
    assert s.m.counters["deferred"] == 1


def test_frame_held_while_ack_expected_and_for_guard_after_node_ack():
    s = sim_with_nodes(guard_us=1000, rx_confirm_ms=50)
    s.rx(1.0, A, zep(frame(1, EUI_A, EUI_B, payload=b"")))
    s.rx(1.005, C, zep(frame(2, EUI_C, EUI_B, payload=b"")))  # B's ACK is still due
    s.advance(1.009)
    assert len(s.to(B)) == 1
    s.rx(1.010, B, zep(zm.ack_psdu(1)))
    s.advance(1.0109)
    assert len(s.to(B)) == 1  # guard after B's ACK
    s.rx(1.0115, B, zep(zm.ack_psdu(2)))
    s.advance(1.2)
    times = [t for t, _ in s.to(B)]
    assert times[1] == pytest.approx(1.011)
    assert s.m.counters["held"] == 1 and s.m.counters["redelivered"] == 0


def test_redelivery_when_destination_sends_no_ack():
    s = sim_with_nodes(rx_confirm_ms=20)
    psdu = frame(4, EUI_A, EUI_B)
    s.rx(1.0, A, zep(psdu))
    s.advance(2.0)
    assert [p for _, p in s.to(B)] == [psdu] * 4  # delivered, then 3 re-deliveries
    assert len(s.to(A)) == 1
    c = s.m.counters
    assert (c["redelivered"], c["unconfirmed"]) == (3, 1)
    # B is taken as deaf now: no ACK for A's next frame, until B ACKs again.
    s.rx(3.0, A, zep(frame(5, EUI_A, EUI_B)))
    s.rx(3.001, B, zep(zm.ack_psdu(5)))
    s.rx(3.1, A, zep(frame(6, EUI_A, EUI_B)))
    s.advance(3.2)
    assert [p[2] for _, p in s.to(A, "ack")] == [4, 6]


def test_redelivery_stops_when_the_node_acks():
    s = sim_with_nodes(rx_confirm_ms=20)
    s.rx(1.0, A, zep(frame(4, EUI_A, EUI_B)))
    s.advance(1.0201)  # first re-delivery sent
    s.rx(1.021, B, zep(zm.ack_psdu(4)))
    s.advance(2.0)
    assert len(s.to(B)) == 2 and s.m.counters["redelivered"] == 1
    assert s.m.counters["unconfirmed"] == 0


def test_unknown_destination_is_learned_from_the_node_ack():
    s = Sim()
    s.rx(0.0, A, zep(frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False)))
    s.rx(0.0, C, zep(frame(1, EUI_C, zm.BROADCAST_SHORT, ar=False)))
    s.rx(1.0, B, b"EX\x02")  # B known, address not announced (and an invalid datagram)
    s.rx(2.0, A, zep(frame(3, EUI_A, EUI_B)))
    s.rx(2.001, B, zep(zm.ack_psdu(3)))
    s.rx(2.1, A, zep(frame(3, EUI_A, EUI_B)))  # A's retransmission
    s.rx(2.1005, B, zep(zm.ack_psdu(3)))
    s.advance(3.0)
    assert [p[2] for _, p in s.to(A, "ack")] == [3]  # only for the retransmission
    assert len(s.to(B)) == 2
    assert len(s.to(C, "data")) == 1  # the first try only (A's broadcast came before C)
    c = s.m.counters
    assert (c["unknown_dst"], c["retransmissions"], c["invalid"]) == (1, 1, 1)


def test_no_airtime_delivers_at_once():
    s = sim_with_nodes(airtime=False)
    s.rx(1.0, A, zep(frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False, payload=bytes(100))))
    s.rx(1.0, A, zep(frame(2, EUI_A, EUI_C, ar=False, payload=bytes(100))))
    s.advance(1.0)
    assert [t for t, _ in s.to(B)] == [1.0]
    assert s.m.counters["deferred"] == 0


# --- the hub process over loopback ------------------------------------------------------------

class Hub:
    """zep_hub.py in a subprocess with --trace; its output lines are collected by a thread."""

    def __init__(self, *args, log=None):
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.lines = queue.Queue()
        self.seen = []
        cmd = [sys.executable, os.path.join(HERE, "zep_hub.py"), "--port", str(self.port),
               "--trace", *args] + (["--log", log] if log else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_line("listening")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pattern, timeout=5.0):
        """The first line (seen or coming) matching pattern."""
        for line in self.seen:
            if re.search(pattern, line):
                return line
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"hub printed no line matching {pattern!r}") from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def trace(self, kind):
        """The trace records of one kind seen so far, as dicts."""
        out = []
        for line in self.seen:
            if line.startswith(f"zep_hub: trace kind={kind} "):
                out.append(dict(w.split("=", 1) for w in line.split()[2:]))
        return out

    def stop(self):
        """SIGTERM; returns the counters as a dict."""
        self.proc.send_signal(signal.SIGTERM)
        line = self.wait_line(r"^zep_hub: frames=")
        self.proc.wait(timeout=5)
        return {k: int(v) for k, v in (w.split("=") for w in line.split()[1:])}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


class FakeNode:
    """A UDP socket on [::1] talking to the hub as socket_zep does."""

    def __init__(self, hub, eui):
        self.hub, self.eui = hub, eui
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.bind(("::1", 0))
        self.sock.settimeout(3.0)
        self.label = f"[::1]:{self.sock.getsockname()[1]}"
        self.send(hello(eui))
        hub.wait_line(re.escape(f"{self.label} has address {zm.fmt_addr(eui)}"))

    def send(self, data):
        self.sock.sendto(data, ("::1", self.hub.port))

    def recv(self, timeout=3.0):
        """The next PSDU, or None when nothing comes within timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(2048)
        except socket.timeout:
            return None
        return zm.parse_zep(data)[2]

    def close(self):
        self.sock.close()


@pytest.fixture
def hub_factory():
    started = []

    def start(*args, nodes=(EUI_A, EUI_B, EUI_C), log=None):
        hub = Hub(*args, log=log)
        started.append(hub)
        fakes = [FakeNode(hub, eui) for eui in nodes]
        started.extend(fakes)
        return hub, fakes

    yield start
    for obj in started:
        if isinstance(obj, Hub):
            obj.kill()
        else:
            obj.close()


def test_hub_ar_unicast_over_loopback(hub_factory):
    # A late ACK from this test's B must not look like a re-delivery.
    hub, (a, b, c) = hub_factory("--rx-confirm-ms", "2000")
    psdu = frame(7, EUI_A, EUI_B)
    a.send(zep(psdu))
    assert b.recv() == psdu
    b.send(zep(zm.ack_psdu(7)))  # B's own ACK: never forwarded
    assert a.recv() == zm.ack_psdu(7)
    assert a.recv(timeout=0.3) is None  # exactly one ACK
    assert b.recv(timeout=0.3) is None  # exactly one delivery
    assert c.recv(timeout=0.1) is None
    counters = hub.stop()
    assert counters["node_acks"] == 1 and counters["acks_generated"] == 1
    assert counters["delivered"] == 1 and counters["nodes"] == 3


def test_hub_chain_topology(hub_factory):
    hub, (a, b, c) = hub_factory(
        "--chain", "00:5a:45:50:0a:00:00:01,00:5a:45:50:0a:00:00:02,00:5a:45:50:0a:00:00:03")
    bcast = frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False)
    a.send(zep(bcast))
    assert b.recv() == bcast
    assert c.recv(timeout=0.3) is None


def test_hub_loss_one(hub_factory, tmp_path):
    topo = tmp_path / "topo"
    topo.write_text("# A-B is dead\n00:5a:45:50:0a:00:00:01 00:5a:45:50:0a:00:00:02 1.0\n")
    hub, (a, b) = hub_factory("--topology", str(topo), nodes=(EUI_A, EUI_B))
    a.send(zep(frame(1, EUI_A, EUI_B)))
    assert a.recv(timeout=0.3) is None and b.recv(timeout=0.3) is None
    assert hub.stop()["lost"] == 1


def test_hub_deferral_from_trace(hub_factory):
    # At 20 kbit/s the second frame finds the channel busy (~45 ms) even if the hub reads it
    # late on a loaded machine.
    hub, (a, b, c) = hub_factory("--bitrate", "20", "--max-defer-ms", "1000",
                                 "--rx-confirm-ms", "2000")
    psdus = [frame(1, EUI_A, EUI_B, payload=bytes(100)), frame(2, EUI_A, EUI_B, payload=bytes(100))]
    for psdu in psdus:
        a.send(zep(psdu))
    for expected in psdus:
        got = b.recv()
        assert got == expected
        b.send(zep(zm.ack_psdu(got[2])))
    hub.wait_line(r"kind=deliver .*seq=2")
    at = [int(d["at"]) for d in hub.trace("deliver")]
    assert len(at) == 2
    assert at[1] - at[0] >= zm.busy_us(len(psdus[0]), acked=True, bitrate_kbps=20) - 1
    assert [zm.parse_mac(a.recv()).seq, zm.parse_mac(a.recv()).seq] == [1, 2]
    assert hub.stop()["deferred"] >= 1


def test_hub_guard_after_node_ack_from_trace(hub_factory):
    hub, (a, b, c) = hub_factory("--guard-us", "200000", "--rx-confirm-ms", "5000")
    a.send(zep(frame(1, EUI_A, EUI_B)))
    assert zm.parse_mac(b.recv()).seq == 1
    b.send(zep(zm.ack_psdu(1)))
    c.send(zep(frame(2, EUI_C, EUI_B)))
    assert zm.parse_mac(b.recv()).seq == 2
    hub.wait_line(r"kind=deliver .*seq=2")
    ack_t = int(hub.trace("node_ack")[0]["t"])
    second = [d for d in hub.trace("deliver") if d["seq"] == "2"][0]
    assert int(second["t"]) >= ack_t + 200000
    assert hub.stop()["held"] == 1


def test_hub_redelivery_without_node_ack(hub_factory):
    hub, (a, b, c) = hub_factory("--rx-confirm-ms", "30")
    psdu = frame(3, EUI_A, EUI_B)
    a.send(zep(psdu))
    copies = []
    while (got := b.recv(timeout=1.0)) is not None and len(copies) < 10:
        copies.append(got)
    assert copies == [psdu] * 4
    assert a.recv(timeout=0.1) == zm.ack_psdu(3) and a.recv(timeout=0.1) is None
    counters = hub.stop()
    assert (counters["redelivered"], counters["unconfirmed"]) == (3, 1)


def test_hub_counters_at_sigterm_also_in_log(hub_factory, tmp_path):
    log = tmp_path / "hub.log"
    hub, (a, b) = hub_factory("--seed", "3", nodes=(EUI_A, EUI_B), log=str(log))
    a.send(zep(frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False)))
    assert b.recv() is not None
    counters = hub.stop()
    assert hub.proc.returncode == 0
    assert counters["frames"] == 1 and counters["delivered"] == 1 and counters["hellos"] == 2
    assert counters["nodes"] == 2 and counters["acks_generated"] == 0
    text = log.read_text()
    assert "zep_hub: listening on [::1]:" in text
    assert re.search(r"^zep_hub: frames=1 delivered=1 .* nodes=2 ", text, re.M)


def test_hub_snapshot_on_sigusr1_counts_psdu_bytes(hub_factory):
    hub, (a, b) = hub_factory("--seed", "3", nodes=(EUI_A, EUI_B))
    first = frame(1, EUI_A, zm.BROADCAST_SHORT, ar=False)
    a.send(zep(first))
    assert b.recv() == first
    hub.proc.send_signal(signal.SIGUSR1)
    line = hub.wait_line(r"^zep_hub: snapshot frames=")
    snap = {k: int(v) for k, v in (w.split("=") for w in line.split()[2:])}
    assert (snap["frames"], snap["psdu_bytes"]) == (1, len(first))
    second = frame(2, EUI_A, zm.BROADCAST_SHORT, ar=False, payload=b"q" * 40)
    a.send(zep(second))
    assert b.recv() == second
    counters = hub.stop()
    assert counters["frames"] == 2
    assert counters["psdu_bytes"] - snap["psdu_bytes"] == len(second)


def test_hub_rejects_bad_arguments():
    for args in (["--loss", "2"], ["--chain", "00:01"], ["--chain", "x", "--topology", "y"]):
        res = subprocess.run([sys.executable, os.path.join(HERE, "zep_hub.py"), *args],
                             capture_output=True, text=True, timeout=10)
        assert res.returncode == 2, args
