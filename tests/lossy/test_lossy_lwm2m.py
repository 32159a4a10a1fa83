"""LwM2M over lossy links (issue 13): the project's server and host clients on loopback, every
path through a LossyProxy that drops, duplicates and reorders datagrams. Registration, device
management Reads, authorization and a client-to-client observation must complete at 20 % and
40 % loss; every value is delivered once or lost, never twice; the server grants once. The
requester reaches the host through a proxy of its own: the address the server saw the host at
is not where the requester can reach it (issue 13 item 7).

Needs the release binaries (`make test-interop` builds them)."""

import json
import re
import pathlib
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import BIN, Proc, free_tcp_port, free_udp_port  # noqa: E402
from lossy_proxy import LossyProxy  # noqa: E402

LOSSES = [0.2, 0.4]
DUP = 0.1
REORDER = 0.1


def http(port, path, method="GET", timeout=60):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture
def server(tmp_path, request):
    security = getattr(request, "param", "psk")
    coap, api = free_udp_port(), free_tcp_port()
    policy = tmp_path / "policy.txt"
    policy.write_text("allow requester=req-* host=host-* path=/3303 rights=read lifetime=600\n")
    p = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{coap}", "--http",
              f"127.0.0.1:{api}", "--no-stdin", "--policy", str(policy), "--timeout", "60",
              "--c2c-security", security],
             tmp_path / "server.log")
    try:
        yield dict(coap=coap, api=api, proc=p)
    finally:
        p.stop()


def client(tmp_path, name, server_port, *extra, duration=110):
    port = free_udp_port()
    p = Proc([str(BIN / "lwm2m-client"), "--endpoint", name, "--server",
              f"coap://127.0.0.1:{server_port}", "--bind", f"127.0.0.1:{port}",
              "--duration", str(duration), *extra], tmp_path / f"{name}.log")
    return port, p


def read_until_done(api, ep, path, tries=4):
    """One device-management Read; the server retransmits, and an operation that still times
    out (every retransmission lost) is asked again, up to `tries` times."""
    for _ in range(tries):
        status, body = http(api, f"/api/clients/{ep}{path}")
        if status == 200 and body.get("code") == "2.05":
            return body
    raise AssertionError(f"Read {path} of {ep}: no 2.05 in {tries} tries: {status} {body}")


@pytest.mark.parametrize("loss", LOSSES)
def test_registration_and_reads_complete(tmp_path, server, loss):
    with LossyProxy(("127.0.0.1", 0), ("127.0.0.1", server["coap"]), loss=loss, dup=DUP,
                    reorder=REORDER, seed=11) as link:
        _, dev = client(tmp_path, "dev-1", link.listen[1], "--temperature", "1")
        try:
            dev.wait_for("registered", timeout=60)
            values = [read_until_done(server["api"], "dev-1", "/3/0/0") for _ in range(3)]
            assert all(v["values"][0]["value"] == "lwm2m-c2c" for v in values), values
            _, clients = http(server["api"], "/api/clients")
            assert [c["endpoint"] for c in clients] == ["dev-1"], clients
            assert link.up.dropped > 0 and link.down.dropped > 0, link.stats_line()
        finally:
            dev.stop()


# DTLS at 20 %; at 40 % the DTLS handshake (three flights each way, each datagram lost on its
# own draw) does not reliably finish within the test's bound, so the 40 % case runs over
# OSCORE, which needs no handshake (the issue 13 note has the DTLS figures).
@pytest.mark.parametrize("server,loss", [("psk", 0.2), ("oscore", 0.2), ("oscore", 0.4)],
                         indirect=["server"])
def test_client_to_client_observation_completes(tmp_path, server, loss):
    with LossyProxy(("127.0.0.1", 0), ("127.0.0.1", server["coap"]), loss=loss, dup=DUP,
                    reorder=REORDER, seed=21) as to_server:
        host_port, host = client(tmp_path, "host-1", to_server.listen[1], "--temperature",
                                 "1", "--period", "0.3", duration=280)
        try:
            host.wait_for("registered", timeout=60)
            with LossyProxy(("127.0.0.1", 0), ("127.0.0.1", host_port), loss=loss, dup=DUP,
                            reorder=REORDER, seed=31) as to_host:
                _, req = client(tmp_path, "req-1", to_server.listen[1], "--c2c-observe",
                                f"host-1,coap://127.0.0.1:{to_host.listen[1]},/3303/0/5700",
                                duration=250)
                try:
                    wait(lambda: len(re.findall(r"notification 2\.05 observe=", req.output()))
                         >= 10, 60 + 400 * loss, "10 client-to-client notifications")
                    out = req.output()
                finally:
                    req.stop()
                assert "access granted" in out, out
                seen = re.findall(r"notification 2\.05 observe=(\d+)", out)
                assert len(seen) == len(set(seen)), f"a notification delivered twice: {seen}"
                host_out = host.output()
                sent = set(re.findall(r"notification sent /3303/0/5700 to \S+ \w+ 2\.05 "
                                      r"observe=(\d+)", host_out))
                assert set(seen) <= sent, (set(seen) - sent, host_out[-2000:])
                _, grants = http(server["api"], "/api/grants")
                assert len(grants) == 1, grants
                assert to_host.up.dropped > 0 and to_server.up.dropped > 0
        finally:
            host.stop()
