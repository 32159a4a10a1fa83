"""The medium on loopback: a datagram's delivery takes at least its hops' channel time, the
fragments and losses are counted, an unknown source is refused."""

import socket
import time

import pytest

import radio
from medium import Medium


def sock():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    s.settimeout(3)
    return s


def two(hops, **kw):
    a, b = sock(), sock()
    nodes = ["a"] + [f"x{i}" for i in range(1, hops)] + ["b"]
    m = Medium({"a": a.getsockname()[:2], "b": b.getsockname()[:2]},
               {("a", "b"): nodes, ("b", "a"): nodes[::-1]}, **kw)
    return a, b, m


def test_delivery_takes_the_air_time_of_every_hop():
    a, b, m = two(3)
    with m:
        t0 = time.monotonic()
        a.sendto(b"x" * 186, m.address("b"))
        data, src = b.recvfrom(2000)
        dt = time.monotonic() - t0
        assert data == b"x" * 186
        # From b's side, a is at its medium address.
        assert src[:2] == m.address("a")
        b.sendto(b"pong", src)
        assert a.recvfrom(100)[0] == b"pong"
    # 3 hops of at least (air + CCA + turnaround + ACK) each, backoffs 0.
    least = 3 * (radio.airtime_us(186) + 3 * (radio.CCA_US + radio.ack_us())) / 1e6
    assert dt >= least
    st = m.stats()
    assert st["pairs"]["a->b"] == {"delivered": 1, "frames": 9}
    assert st["pairs"]["b->a"] == {"delivered": 1, "frames": 3}
    # a sent one 186-byte datagram: 3 frames, 328 bytes on air.
    assert st["nodes"]["a"]["tx_us"] == pytest.approx(10496.0)
    assert st["nodes"]["x1"]["frames_tx"] == 4   # 3 of a's datagram, 1 of the reply


def test_loss_without_retries_drops_datagrams():
    a, b, m = two(1, frame_loss=0.999999, mac_retries=0)
    with m:
        for _ in range(5):
            a.sendto(b"y" * 10, m.address("b"))
        time.sleep(0.3)
    assert m.stats()["pairs"]["a->b"]["lost_frame"] == 5


def test_unknown_source_is_counted_and_dropped():
    a, b, m = two(1)
    c = sock()
    with m:
        c.sendto(b"z", m.address("b"))
        time.sleep(0.2)
    assert m.stats()["pairs"]["?->b"]["unknown_source"] == 1
