"""LwM2M over lossy links (issue 13): the project's server and host clients on loopback, every
path through a LossyProxy that drops, duplicates and reorders datagrams. Registration, device
management Reads, authorization and a client-to-client observation must complete at 20 % and
40 % loss; every value is delivered once or lost, never twice; the server grants once. The
requester reaches the host through a proxy of its own: the address the server saw the host at
is not where the requester can reach it (issue 13 item 7). The server is killed (`kill -9`)
and restarted with its `--state` in the middle of a client-to-client observation.

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


def start_server(tmp_path, security, coap, api, *extra, log="server.log"):
    policy = tmp_path / "policy.txt"
    policy.write_text("allow requester=req-* host=host-* path=/3303 rights=read lifetime=600\n")
    return Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{coap}", "--http",
                 f"127.0.0.1:{api}", "--no-stdin", "--policy", str(policy), "--timeout", "60",
                 "--c2c-security", security, *extra],
                tmp_path / log)


@pytest.fixture
def server(tmp_path, request):
    security = getattr(request, "param", "psk")
    coap, api = free_udp_port(), free_tcp_port()
    p = start_server(tmp_path, security, coap, api)
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


def notifications(out):
    return re.findall(r"notification 2\.05 observe=(\d+)", out)


# OSCORE for the pair: no handshake, so the scenario fits its bound at 20 % loss.
def test_server_killed_and_restarted_with_its_state(tmp_path):
    coap, api = free_udp_port(), free_tcp_port()
    state = tmp_path / "state.json"
    srv = start_server(tmp_path, "oscore", coap, api, "--state", str(state))
    host = req = None
    # Lifetime 30 s: the clients' Updates (at 15 s) reach the restarted server soon, which
    # knows no registration (the state holds grants and accounts) and answers 4.04. The host
    # retransmits after 1 s (--ack-timeout), so that the re-registration fits the bound below.
    short = ("--lifetime", "30")
    try:
        with LossyProxy(("127.0.0.1", 0), ("127.0.0.1", coap), loss=0.2, dup=DUP,
                        reorder=REORDER, seed=41) as to_server:
            host_port, host = client(tmp_path, "host-1", to_server.listen[1], "--temperature",
                                     "1", "--period", "0.3", "--ack-timeout", "1000", *short,
                                     duration=150)
            host.wait_for("registered", timeout=30)
            with LossyProxy(("127.0.0.1", 0), ("127.0.0.1", host_port), loss=0.2, dup=DUP,
                            reorder=REORDER, seed=51) as to_host:
                _, req = client(tmp_path, "req-1", to_server.listen[1], "--c2c-observe",
                                f"host-1,coap://127.0.0.1:{to_host.listen[1]},/3303/0/5700",
                                *short, duration=140)
                wait(lambda: len(notifications(req.output())) >= 3, 40, "3 notifications")
                _, grants = http(api, "/api/grants")
                assert len(grants) == 1, grants
                srv.p.kill()  # SIGKILL: nothing written on the way out
                srv.p.wait(5)
                srv.stop()
                before = len(notifications(req.output()))
                registered = host.output().count("registered ssid=1")
                srv = start_server(tmp_path, "oscore", coap, api, "--state", str(state),
                                   log="server-2.log")
                srv.wait_for("HTTP API on", timeout=10)
                # The grant comes back from the state, once.
                _, again = http(api, "/api/grants")
                assert [g["id"] for g in again] == [g["id"] for g in grants], (grants, again)
                # The observation does not go through the server: it keeps delivering.
                wait(lambda: len(notifications(req.output())) >= before + 5, 20,
                     "5 notifications after the restart")
                # The host's next Update gets 4.04 and it registers again. Bound: the Update is
                # due at most 15 s after the last one; at 20 % loss each way a transmission's
                # exchange fails 36 % of the time, and the bound lets the Update and then the
                # Register each take all 5 transmissions, the last at most
                # 1 s x 1.5 x (1 + 2 + 4 + 8) = 22.5 s after the first; 5 s margin. The bound
                # before, 40 s at the default 2 s ACK_TIMEOUT, failed a CI run (2026-12-07) and
                # 1 of 10 runs here: four Update transmissions in a row lost the Update or the
                # 4.04 to it, and the fifth went out 37 s after the first.
                wait(lambda: host.output().count("registered ssid=1") > registered,
                     15 + 22.5 + 22.5 + 5, "the host registered again")
                _, clients = http(api, "/api/clients")
                assert "host-1" in [c["endpoint"] for c in clients], clients
                body = read_until_done(api, "host-1", "/3/0/0")
                assert body["values"][0]["value"] == "lwm2m-c2c", body
                _, after = http(api, "/api/grants")
                assert [g["id"] for g in after] == [g["id"] for g in grants], after
                seen = notifications(req.output())
                assert len(seen) == len(set(seen)), f"a notification delivered twice: {seen}"
    finally:
        for p in (req, host, srv):
            if p is not None:
                p.stop()
