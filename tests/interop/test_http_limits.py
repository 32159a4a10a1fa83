"""The SERVER's HTTP API under hostile clients: a request line without end (bounded memory),
many idle connections (bounded threads, other requests served, over the cap refused), a slow
trickle (closed at the header timeout), an oversized body, and the bearer token."""
import json
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, Proc, free_tcp_port, free_udp_port

MAX_CONNECTIONS = 40
TOKEN = "s3cret-token-for-tests"


def status_field(pid, name):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{name} not in /proc/{pid}/status")


def get(port, path="/api/clients", token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start(tmp, *extra):
    http = free_tcp_port()
    p = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{free_udp_port()}",
              "--http", f"127.0.0.1:{http}", "--no-stdin", "--quiet",
              "--http-header-timeout", "2", "--http-max-connections", str(MAX_CONNECTIONS),
              *extra], tmp / f"server-{http}.log")
    p.wait_for("HTTP API on")
    return p, http


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    p, http = start(tmp_path_factory.mktemp("http-limits"), "--http-max-body", "4096")
    try:
        yield dict(proc=p, port=http, pid=p.p.pid)
    finally:
        p.stop()


def closed_by_server(s, bound=15.0):
    """Reads until the server closes (EOF or reset); False if still open after `bound` s."""
    s.settimeout(0.5)
    end = time.monotonic() + bound
    data = b""
    while time.monotonic() < end:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True, data
        if not chunk:
            return True, data
        data += chunk
    return False, data


def test_request_line_without_end_is_not_buffered(server):
    rss_before = status_field(server["pid"], "VmRSS")
    s = socket.create_connection(("127.0.0.1", server["port"]))
    sent = 0
    chunk = b"A" * 65536
    try:
        s.sendall(b"GET /")
        while sent < 64 * 1024 * 1024:
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, data = closed_by_server(s)
    s.close()
    assert closed
    assert sent < 64 * 1024 * 1024, "the server kept reading an endless request line"
    assert data == b"" or data.startswith(b"HTTP/1.1 431"), data[:80]
    # Memory stays bounded (the 256 MB line of the issue took it to 1 GB).
    assert status_field(server["pid"], "VmRSS") - rss_before < 16 * 1024
    assert get(server["port"])[0] == 200


def test_many_idle_connections(server):
    threads_before = status_field(server["pid"], "Threads")
    idle = [socket.create_connection(("127.0.0.1", server["port"]))
            for _ in range(MAX_CONNECTIONS - 5)]
    try:
        time.sleep(0.3)  # let the server accept them all
        # Connections are not threads; another request is served meanwhile.
        assert status_field(server["pid"], "Threads") <= threads_before + 2
        assert get(server["port"])[0] == 200
        # Over the cap: refused at once with 503.
        extra = [socket.create_connection(("127.0.0.1", server["port"])) for _ in range(10)]
        answers = [closed_by_server(s, 5.0) for s in extra]
        refused = [d for c, d in answers if c and d.startswith(b"HTTP/1.1 503")]
        assert len(refused) >= 5, answers
        for s in extra:
            s.close()
        # Idle connections are closed by the server at the header timeout.
        for s in idle:
            assert closed_by_server(s)[0], "an idle connection stayed open"
    finally:
        for s in idle:
            s.close()
    assert get(server["port"])[0] == 200


def test_slow_trickle_is_cut_at_the_header_timeout(server):
    s = socket.create_connection(("127.0.0.1", server["port"]))
    s.sendall(b"GET /api/clients HTTP/1.1\r\nX-Slow: ")
    sent = 0
    cut = False
    try:
        # One byte every 0.2 s would take 40 s for 200 bytes; the timeout is 2 s.
        for _ in range(200):
            s.sendall(b"a")
            sent += 1
            time.sleep(0.2)
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    cut = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                cut = True
                break
    except (BrokenPipeError, ConnectionResetError):
        cut = True
    s.close()
    assert cut, "the trickling connection was never closed"
    assert sent < 200
    assert get(server["port"])[0] == 200


def test_oversized_body_gets_413(server):
    s = socket.create_connection(("127.0.0.1", server["port"]))
    body = b"x" * 10000
    s.sendall(b"PUT /api/clients/none/3/0/14 HTTP/1.1\r\nHost: t\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    closed, data = closed_by_server(s)
    s.close()
    assert closed and data.startswith(b"HTTP/1.1 413"), data[:80]


def test_bearer_token(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    p, http = start(tmp_path, "--api-token-file", str(token_file))
    try:
        assert get(http)[0] == 401
        assert get(http, token="wrong")[0] == 401
        assert get(http, token=TOKEN + "x")[0] == 401
        assert get(http, token=TOKEN) == (200, [])
        # The event stream is behind the token too.
        assert get(http, "/api/events")[0] == 401
    finally:
        p.stop()


def test_non_loopback_api_needs_a_token(tmp_path):
    r = subprocess.run([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{free_udp_port()}",
                        "--http", "0.0.0.0:0", "--no-stdin"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "--api-token-file" in r.stderr, r.stderr
