"""OSCORE interoperability: aiocoap (an independent OSCORE implementation) against the
lwm2m-oscore crate's example peer (rust/oscore/examples/oscore-peer.rs), both directions,
including appendix B.1 recovery after a reboot. Every run works on fresh context directories,
because aiocoap writes sequence numbers into them."""
import json
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT, Proc, free_udp_port

PEER = ROOT / "target" / "release" / "examples" / "oscore-peer"
VENV_BIN = pathlib.Path(sys.executable).parent
SECRET = "0102030405060708090a0b0c0d0e0f10"
SALT = "9e7ca92223786340"
# The client's Sender ID is empty, the server's is 01 (as in RFC 8613 appendix C.1).
CLIENT_ID, SERVER_ID = "", "01"


@pytest.fixture(scope="module", autouse=True)
def peer_binary():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "lwm2m-oscore",
                    "--example", "oscore-peer"], cwd=ROOT, check=True, timeout=600)
    assert PEER.exists()


def context_dir(tmp_path, name, sender, recipient):
    d = tmp_path / name
    d.mkdir()
    (d / "settings.json").write_text(json.dumps({
        "sender-id_hex": sender, "recipient-id_hex": recipient,
        "secret_hex": SECRET, "salt_hex": SALT,
        "algorithm": "AES-CCM-16-64-128", "kdf-hashfun": "sha256"}))
    return d


def peer_context(sender, recipient):
    return ["--secret", SECRET, "--salt", SALT, "--sender", sender, "--recipient", recipient]


def aiocoap_get(tmp_path, port, ctxdir):
    creds = tmp_path / "client-credentials.json"
    creds.write_text(json.dumps(
        {f"coap://127.0.0.1:{port}/*": {"oscore": {"contextfile": str(ctxdir) + "/"}}}))
    return subprocess.run(
        [str(VENV_BIN / "aiocoap-client"), "--credentials", str(creds),
         f"coap://127.0.0.1:{port}/3303/0/5700"],
        capture_output=True, text=True, timeout=30)


def start_peer_server(tmp_path, port, *extra):
    srv = Proc([str(PEER), "server", "--bind", f"127.0.0.1:{port}",
                *peer_context(SERVER_ID, CLIENT_ID), "--value", "23.25", *extra],
               tmp_path / f"peer-server-{port}.log")
    srv.wait_for("listening")
    return srv


def test_aiocoap_client_to_our_server(tmp_path):
    port = free_udp_port()
    srv = start_peer_server(tmp_path, port)
    try:
        ctxdir = context_dir(tmp_path, "client-ctx", CLIENT_ID, SERVER_ID)
        for _ in range(3):
            r = aiocoap_get(tmp_path, port, ctxdir)
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip() == "23.25", (r.stdout, r.stderr)
        out = srv.output()
        # The server saw three fresh requests under the client's kid (empty), no challenge.
        assert out.count("request kid=[] ") == 3, out
        assert "echo challenge" not in out and "rejected" not in out, out
    finally:
        srv.stop()


def test_aiocoap_client_recovers_our_rebooted_server(tmp_path):
    """Our server restarts with an unknown replay window (appendix B.1.2): aiocoap's first
    request gets a protected 4.01 with Echo, aiocoap repeats it with the Echo value, and the
    server accepts it."""
    ctxdir = context_dir(tmp_path, "client-ctx", CLIENT_ID, SERVER_ID)
    port = free_udp_port()
    srv = start_peer_server(tmp_path, port)
    try:
        assert aiocoap_get(tmp_path, port, ctxdir).stdout.strip() == "23.25"
    finally:
        srv.stop()
    seqfile = tmp_path / "server-seqno"
    seqfile.write_text("0")  # the server had persisted nothing yet: resume from 0
    srv = start_peer_server(tmp_path, port, "--seqno-file", str(seqfile))
    try:
        r = aiocoap_get(tmp_path, port, ctxdir)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "23.25", (r.stdout, r.stderr)
        out = srv.output()
        assert "resumed at 0" in out
        assert "echo challenge kid=[]" in out, out
        assert "echo=true" in out, out
        assert int(seqfile.read_text()) > 0, "the Echo value's sequence number was persisted"
    finally:
        srv.stop()


@pytest.fixture
def aiocoap_server(tmp_path):
    port = free_udp_port()
    ctxdir = context_dir(tmp_path, "server-ctx", SERVER_ID, CLIENT_ID)
    srv = Proc([sys.executable, str(pathlib.Path(__file__).parent / "oscore_server.py"),
                str(port), str(ctxdir) + "/"], tmp_path / "aiocoap-server.log")
    try:
        srv.wait_for("ready", timeout=20)
        yield port
    finally:
        srv.stop()


def our_client(port, *extra):
    return subprocess.run(
        [str(PEER), "client", "--peer", f"127.0.0.1:{port}",
         *peer_context(CLIENT_ID, SERVER_ID), *extra],
        capture_output=True, text=True, timeout=30)


def test_our_client_to_aiocoap_server(aiocoap_server, tmp_path):
    seqfile = tmp_path / "client-seqno"
    r = our_client(aiocoap_server, "--requests", "3", "--seqno-file", str(seqfile))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("code=2.05 payload=21.5") == 3, r.stdout
    first_limit = int(seqfile.read_text())
    assert first_limit >= 3

    # Client reboot: it resumes above every sequence number it used, so aiocoap's replay
    # window (which saw 0..2) accepts the new requests.
    r = our_client(aiocoap_server, "--requests", "2", "--seqno-file", str(seqfile))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"resumed at {first_limit}" in r.stdout
    assert r.stdout.count("code=2.05 payload=21.5") == 2, r.stdout


def test_our_client_rejected_with_wrong_key(aiocoap_server):
    """A client with another master secret gets aiocoap's unprotected 4.00 (RFC 8613 section
    8.2: decryption failed) and no payload."""
    r = subprocess.run(
        [str(PEER), "client", "--peer", f"127.0.0.1:{aiocoap_server}", "--secret", "00" * 16,
         "--salt", SALT, "--sender", CLIENT_ID, "--recipient", SERVER_ID],
        capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "response rejected: NotProtected (outer code 4.00)" in r.stdout, r.stdout
    assert "payload=21.5" not in r.stdout
