"""The medium model's 802.15.4 / 6LoWPAN arithmetic against hand-computed values (radio.py's
module text derives them)."""

import random

import pytest

import radio


def test_small_datagram_is_one_frame():
    # 41 IPHC + 63 = 104: the largest payload without fragmentation.
    assert radio.fragments(63) == [63]
    assert radio.frame_sizes(63) == [127]
    assert radio.fragments(64) == [56, 8]
    # 20-byte payload: 23 + 41 + 20 = 84 bytes, 90 on air, 32 us per byte at 250 kbit/s.
    assert radio.frame_sizes(20) == [84]
    assert radio.airtime_us(20) == pytest.approx(2880.0)


def test_install_message_186_bytes():
    # 56 + 96 + 34 payload bytes; frames 23+4+41+56, 23+5+96, 23+5+34.
    assert radio.fragments(186) == [56, 96, 34]
    assert radio.frame_sizes(186) == [124, 124, 62]
    # (130 + 130 + 68) bytes * 32 us = 10.496 ms at 250 kbit/s, 1.312 ms at 2000 kbit/s.
    assert radio.airtime_us(186, 250) == pytest.approx(10496.0)
    assert radio.airtime_us(186, 2000) == pytest.approx(1312.0)


def test_fragment_offsets_are_multiples_of_8():
    for n in range(64, 1232):
        parts = radio.fragments(n)
        assert sum(parts) == n
        # Uncompressed offsets: 48 header bytes + payload before each fragment.
        off = radio.IPV6_UDP_UNCOMPRESSED + parts[0]
        for p in parts[1:-1]:
            assert off % 8 == 0
            off += p
        assert all(f <= radio.PSDU_MAX for f in radio.frame_sizes(n))


def test_hop_time_with_mean_backoff():
    # 1 frame of 84 bytes: 3.5 * 320 + 128 + 2880 + 192 + 11 * 32 = 4672 us.
    assert radio.hop_us(20) == pytest.approx(4672.0)
    # 3 frames of the install message, backoffs 0, 7, 1 units:
    # 8 * 320 + 3 * (128 + 192 + 352) + 10496 = 15072 us.
    assert radio.hop_us(186, backoff_units=[0, 7, 1]) == pytest.approx(15072.0)


def test_too_large_is_an_error():
    with pytest.raises(ValueError):
        radio.fragments(radio.MAX_DATAGRAM + 1)
    with pytest.raises(ValueError):
        radio.fragments(-1)


def test_chain_paths():
    adj = radio.chain(2)
    assert radio.path(adj, "host", "requester") == ["host", "requester"]
    assert radio.path(adj, "host", "gw") == ["host", "f2", "f1", "gw"]
    assert radio.path(radio.chain(0), "requester", "gw") == ["requester", "gw"]


def test_random_topology_obeys_the_distance_rules():
    import math
    g = radio.random_topology(random.Random(4), 20, 2.2, 6.6)
    pos = g["positions"]
    assert len(pos) == 20
    for i, p in enumerate(pos):
        assert all(math.dist(p, q) >= 2.2 for q in pos[:i])
        if i:
            assert min(math.dist(p, q) for q in pos[:i]) <= 6.6
    assert g["host"] != g["requester"] and "gw" not in (g["host"], g["requester"])
    assert all(h >= 1 for h in g["hops"].values())
