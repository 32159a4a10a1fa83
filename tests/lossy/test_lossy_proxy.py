"""The lossy link itself (no LwM2M): what it drops, duplicates and reorders, both ways."""

import socket
import threading
import time

from lossy_proxy import LossyProxy


class Echo:
    """A UDP peer that answers every datagram with its payload, and records what it got."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.addr = self.sock.getsockname()
        self.got = []
        self.sources = set()
        self.running = True
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while self.running:
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.got.append(data)
            self.sources.add(src)
            self.sock.sendto(data, src)

    def stop(self):
        self.running = False
        self.t.join(2)
        self.sock.close()


def client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.3)
    return s


def drain(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except socket.timeout:
            return out


def test_clean_link_forwards_both_ways_in_order():
    echo = Echo()
    try:
        with LossyProxy(("127.0.0.1", 0), echo.addr) as p:
            c = client()
            for i in range(20):
                c.sendto(b"%d" % i, p.listen)
                time.sleep(0.002)
            back = drain(c)
            assert back == [b"%d" % i for i in range(20)]
            assert p.up.sent == p.down.sent == 20
    finally:
        echo.stop()


def test_loss_drops_about_the_given_share_in_each_direction():
    echo = Echo()
    try:
        with LossyProxy(("127.0.0.1", 0), echo.addr, loss=0.3, seed=7) as p:
            c = client()
            for i in range(400):
                c.sendto(b"%d" % i, p.listen)
                time.sleep(0.0005)
            back = drain(c)
            assert p.up.received == 400
            assert 80 <= p.up.dropped <= 160, p.stats_line()
            assert len(echo.got) == 400 - p.up.dropped
            assert p.down.dropped > 0 and len(back) == len(echo.got) - p.down.dropped
            assert len(set(back)) == len(back)  # nothing duplicated without dup
    finally:
        echo.stop()


def test_duplicates_and_reordering_are_counted_and_happen():
    echo = Echo()
    try:
        with LossyProxy(("127.0.0.1", 0), echo.addr, dup=0.3, reorder=0.3, seed=3,
                        reorder_ms=20) as p:
            c = client()
            for i in range(100):
                c.sendto(b"%03d" % i, p.listen)
                time.sleep(0.001)
            time.sleep(0.2)
            assert p.up.duplicated > 0 and p.up.reordered > 0
            assert len(echo.got) == 100 + p.up.duplicated
            assert echo.got != sorted(echo.got)  # some overtook others
            assert set(echo.got) == {b"%03d" % i for i in range(100)}
    finally:
        echo.stop()


def test_each_source_gets_its_own_address_at_the_target():
    echo = Echo()
    try:
        with LossyProxy(("127.0.0.1", 0), echo.addr) as p:
            a, b = client(), client()
            a.sendto(b"a", p.listen)
            b.sendto(b"b", p.listen)
            assert drain(a) == [b"a"] and drain(b) == [b"b"]
            assert len(echo.sources) == 2
    finally:
        echo.stop()
