"""Firmware Update push over a lossy loopback link (issue 12 item 1): the project's server
writes a manifest-wrapped image to the host client's /5/0/0 with Block1 through a LossyProxy
that drops, duplicates and reorders datagrams; the client streams it into --fota-dir, the
stored image must equal the file byte for byte, and Update runs the hook. A corrupted package
ends with Update Result 5 and no stored image. The ACK timeout is lowered to 50 ms on both
sides (loopback) so that retransmissions keep each test well under a minute.

`test_fota_figure_100k` prints the time and bytes on the wire of a 100 KB push without loss
(a figure, not an assertion).

Pull (`?mode=pull`): the server serves the package at `/fw/<id>` and writes its URI, with the
proxy's address as authority (`host=`), to /5/0/1; the client fetches it through the same lossy
link with CoAP GET + Block2, one block in flight, retransmitted by its message layer and asked
again when that gives up (`--fota-pull-retries`). A 300 KB image at 15 % loss, with a 3.5 s
outage of the link in the middle (the pull resumes at the block it lost), must arrive byte for
byte; a bit flipped in transit ends with Update Result 5; `test_pull_figure_300k` prints
the time and datagrams of a 300 KB pull without loss.

Needs the release binaries (`make test-interop` builds them)."""

import json
import pathlib
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import BIN, Proc, free_tcp_port, free_udp_port  # noqa: E402
from lossy_proxy import LossyProxy  # noqa: E402

ACK_MS = "50"


def http(port, path, method="GET", body=None, timeout=60):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def image(n, salt=0):
    return bytes((i * 131 + i // 1021 + salt) & 0xFF for i in range(n))


@pytest.fixture
def setup(tmp_path):
    procs = []

    def start(loss, seed):
        coap, api = free_udp_port(), free_tcp_port()
        srv = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{coap}", "--http",
                    f"127.0.0.1:{api}", "--no-stdin", "--timeout", "20", "--ack-timeout",
                    ACK_MS], tmp_path / "server.log")
        procs.append(srv)
        srv.wait_for("HTTP API on", timeout=10)
        link = LossyProxy(("127.0.0.1", 0), ("127.0.0.1", coap), loss=loss, dup=0.05 if loss
                          else 0.0, reorder=0.05 if loss else 0.0, seed=seed).start()
        procs.append(link)
        fw = tmp_path / "fw"
        dev = Proc([str(BIN / "lwm2m-client"), "--endpoint", "dev-fw", "--server",
                    f"coap://127.0.0.1:{link.listen[1]}", "--bind", "127.0.0.1:0",
                    "--ack-timeout", ACK_MS, "--duration", "55", "--fota-dir", str(fw),
                    "--fota-hook", f"cp \"$FOTA_IMAGE\" {tmp_path / 'installed.bin'}"],
                   tmp_path / "client.log")
        procs.append(dev)
        assert dev.wait_for("registered", timeout=20), dev.output()
        return api, link, fw, dev

    yield start
    for p in reversed(procs):
        p.stop()


def state(api, tries=4):
    """State, Update Result, name, version; a Read whose every retransmission was lost is
    asked again, up to `tries` times."""
    for _ in range(tries):
        status, body = http(api, "/api/clients/dev-fw/fota")
        if status == 200:
            return body
    raise AssertionError(f"Read /5/0: {status} {body}")


def push(api, data, block, name="app", version="2.0"):
    q = f"?name={name}&version={version}&block={block}"
    return http(api, f"/api/clients/dev-fw/fota{q}", "POST", data, timeout=120)


def test_push_over_lossy_link_byte_for_byte(tmp_path, setup):
    api, link, fw, dev = setup(0.15, 7)
    img = image(256 * 1024)
    t0 = time.monotonic()
    status, body = push(api, img, 1024)
    took = time.monotonic() - t0
    assert status == 200 and body["code"] == "2.04", body
    assert (fw / "firmware.bin").read_bytes() == img
    assert not (fw / "firmware.part").exists()
    assert state(api) == {"state": 2, "result": 0, "name": "app", "version": "2.0"}
    assert link.up.dropped > 0 and link.down.dropped > 0, link.stats_line()
    status, body = http(api, "/api/clients/dev-fw/fota/update", "POST")
    assert status == 200 and body["code"] == "2.04", body
    assert (tmp_path / "installed.bin").read_bytes() == img
    st = state(api)
    assert st["state"] == 0 and st["result"] == 1, st
    print(f"fota push 256 KB over 15 % loss: {took:.1f} s, {link.stats_line()}")


def test_corrupted_package_is_update_result_5(tmp_path, setup):
    api, link, fw, dev = setup(0.15, 9)
    # The server hashes what it is given: the proxy flips one bit of one block in transit
    # (of every copy: a retransmission must not repair it).
    img = image(120 * 1024, salt=3)
    marker = img[50_000:50_016]
    flipped = []

    def corrupt(payload):
        i = payload.find(marker)
        if i < 0:
            return payload
        flipped.append(i)
        return payload[:i] + bytes([payload[i] ^ 1]) + payload[i + 1:]

    link.mutate_down = corrupt
    status, body = push(api, img, 1024)
    assert flipped, "the proxy saw the block"
    assert status == 200 and body["code"] == "4.00", body
    st = state(api)
    assert st["state"] == 0 and st["result"] == 5, st
    assert not (fw / "firmware.bin").exists() and not (fw / "firmware.part").exists()
    status, body = http(api, "/api/clients/dev-fw/fota/update", "POST")
    assert body["code"] == "4.05", body


def test_fota_figure_100k(tmp_path, setup):
    api, link, fw, dev = setup(0.0, 1)
    img = image(100 * 1024)
    up0, down0 = link.up.received_bytes, link.down.received_bytes
    msgs0 = link.up.received + link.down.received
    t0 = time.monotonic()
    status, body = push(api, img, 1024)
    took = time.monotonic() - t0
    assert status == 200 and body["code"] == "2.04", body
    assert (fw / "firmware.bin").read_bytes() == img
    up, down = link.up.received_bytes - up0, link.down.received_bytes - down0
    msgs = link.up.received + link.down.received - msgs0
    print(f"fota push 100 KB (block 1024, loopback, no loss): {took:.2f} s, "
          f"{msgs} datagrams, {up + down} B of UDP payload "
          f"(server->client {down}, client->server {up})")


def start_pull(api, link, data, name="app", version="3.0"):
    """Serves `data` for a pull through the proxy (the URI's authority is the proxy's)."""
    q = f"?mode=pull&name={name}&version={version}&host=127.0.0.1:{link.listen[1]}"
    status, body = http(api, f"/api/clients/dev-fw/fota{q}", "POST", data)
    assert status == 200 and body["code"] == "2.04", body
    assert body["uri"].startswith(f"coap://127.0.0.1:{link.listen[1]}/fw/"), body
    return body["uri"]


def wait_pulled(dev, timeout=45):
    """The client's line that ends the pull (`fota-pull <uri> downloaded|failed: ...`)."""
    dev.wait_for("fota-pull coap://", timeout=timeout)
    return next(line for line in dev.output().splitlines() if line.startswith("fota-pull coap"))


def test_pull_over_lossy_link_byte_for_byte(tmp_path, setup):
    api, link, fw, dev = setup(0.15, 11)
    img = image(300 * 1024, salt=5)
    t0 = time.monotonic()
    start_pull(api, link, img)
    # After the first tenth, the link goes dead for 3.5 s: longer than the client's message
    # layer retransmits one block (ACK timeout 50 ms, 4 retransmissions), so it gives up and
    # the pull asks for the same block again, and resumes there once the link is back.
    dev.wait_for("fota-pull-progress", timeout=30)
    link.loss = 1.0
    time.sleep(3.5)
    link.loss = 0.15
    line = wait_pulled(dev)
    took = time.monotonic() - t0
    assert " downloaded " in line, line
    assert "fota-pull-retry" in dev.output(), line
    assert (fw / "firmware.bin").read_bytes() == img
    assert not (fw / "firmware.part").exists()
    assert state(api) == {"state": 2, "result": 0, "name": "app", "version": "3.0"}
    assert link.up.dropped > 0 and link.down.dropped > 0, link.stats_line()
    assert dev.output().count("fota-pull-progress") == 10
    status, body = http(api, "/api/clients/dev-fw/fota/update", "POST")
    assert status == 200 and body["code"] == "2.04", body
    assert (tmp_path / "installed.bin").read_bytes() == img
    print(f"fota pull 300 KB (block 512) over 15 % loss and a 3.5 s outage: {took:.1f} s, "
          f"{line.split(' ', 3)[3]}, "
          f"{link.stats_line()}")


def test_pull_corrupted_in_transit_is_update_result_5(tmp_path, setup):
    api, link, fw, dev = setup(0.15, 13)
    img = image(120 * 1024, salt=7)
    marker = img[70_000:70_016]
    flipped = []

    def corrupt(payload):
        i = payload.find(marker)
        if i < 0:
            return payload
        flipped.append(i)
        return payload[:i] + bytes([payload[i] ^ 1]) + payload[i + 1:]

    link.mutate_down = corrupt
    start_pull(api, link, img)
    line = wait_pulled(dev)
    assert flipped, "the proxy saw the block"
    assert " failed: " in line, line
    st = state(api)
    assert st["state"] == 0 and st["result"] == 5, st
    assert not (fw / "firmware.bin").exists() and not (fw / "firmware.part").exists()


def test_pull_figure_300k(tmp_path, setup):
    api, link, fw, dev = setup(0.0, 1)
    img = image(300 * 1024)
    msgs0 = link.up.received + link.down.received
    bytes0 = link.up.received_bytes + link.down.received_bytes
    t0 = time.monotonic()
    start_pull(api, link, img)
    line = wait_pulled(dev)
    took = time.monotonic() - t0
    assert " downloaded " in line, line
    assert (fw / "firmware.bin").read_bytes() == img
    msgs = link.up.received + link.down.received - msgs0
    size = link.up.received_bytes + link.down.received_bytes - bytes0
    print(f"fota pull 300 KB (block 512, loopback through the proxy, no loss): {took:.2f} s, "
          f"{msgs} datagrams, {size} B of UDP payload")
