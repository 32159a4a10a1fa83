"""Independent peers reading the HOST CLIENT over secure channels:
- libcoap's coap-client (OpenSSL) and aiocoap-client (tinydtls through the DTLSSocket
  package) over DTLS-PSK: the host client accepts DTLS handshakes on its socket
  (--dtls-listen-psk) and serves a peer whose PSK identity is its server account's as that
  server; a wrong key gets nothing;
- aiocoap with the server's OSCORE context: served as the server (verified kid), and after a
  client restart with a persisted sequence-number file the replay window is recovered with
  Echo (RFC 8613 B.1.2).
Key material never appears in the client's output."""
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, Proc, free_udp_port

COAP_CLIENT = shutil.which("coap-client-openssl")
VENV_BIN = pathlib.Path(sys.executable).parent
KEY_TEXT = "0123456789abcdef"
KEY_HEX = KEY_TEXT.encode().hex()
SECRET = "0102030405060708090a0b0c0d0e0f10"
SALT = "9e7ca92223786340"


def no_key(text):
    for k in (KEY_HEX, KEY_TEXT, SECRET):
        assert k not in text, "key material in the output"


@pytest.fixture
def dtls_setup(tmp_path):
    srv_port, srv_dtls, port = free_udp_port(), free_udp_port(), free_udp_port()
    psk_file = tmp_path / "psk.txt"
    psk_file.write_text(f"# endpoint identity key\nsec-interop srv-id {KEY_HEX}\n")
    server = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{srv_port}",
                   "--coaps", f"127.0.0.1:{srv_dtls}", "--psk-file", str(psk_file),
                   "--no-http", "--no-stdin"], tmp_path / "server.log")
    cli = Proc([str(BIN / "lwm2m-client"), "--endpoint", "sec-interop",
                "--server", f"coaps://127.0.0.1:{srv_dtls}", "--psk", f"srv-id,{KEY_HEX}",
                "--dtls-listen-psk", f"srv-id,{KEY_HEX}", "--bind", f"127.0.0.1:{port}",
                "--temperature", "1", "--lights", "1", "--duration", "60"],
               tmp_path / "client.log")
    try:
        cli.wait_for("registered ssid=1", timeout=15)
        yield dict(port=port, proc=cli, server=server)
    finally:
        cli.stop()
        server.stop()


def coaps_get(port, ident, key, path):
    assert COAP_CLIENT, "libcoap3-bin is missing: tests/install-deps.sh installs it"
    return subprocess.run([COAP_CLIENT, "-B", "5", "-u", ident, "-k", key, "-m", "get",
                           f"coaps://127.0.0.1:{port}{path}"], capture_output=True, timeout=20)


def test_coap_client_reads_host_client_over_dtls(dtls_setup):
    r = coaps_get(dtls_setup["port"], "srv-id", KEY_TEXT, "/3/0/0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == b"lwm2m-c2c"
    dtls_setup["proc"].wait_for("(server 1) -> 2.05")
    no_key(dtls_setup["proc"].output())
    no_key(dtls_setup["server"].output())


def test_coap_client_with_wrong_key_gets_nothing(dtls_setup):
    before = dtls_setup["proc"].output().count("served GET /3/0/0")
    r = coaps_get(dtls_setup["port"], "srv-id", "fedcba9876543210", "/3/0/0")
    assert b"lwm2m-c2c" not in r.stdout
    r = coaps_get(dtls_setup["port"], "someone", KEY_TEXT, "/3/0/0")
    assert b"lwm2m-c2c" not in r.stdout
    assert dtls_setup["proc"].output().count("served GET /3/0/0") == before


def aiocoap_coaps_get(tmp_path, port, ident, key, path, timeout=60):
    """aiocoap-client over coaps with a PSK credentials file."""
    creds = tmp_path / f"dtls-{ident}-{key}.json"
    creds.write_text(json.dumps({f"coaps://127.0.0.1:{port}/*": {"dtls": {
        "psk": {"ascii": key}, "client-identity": {"ascii": ident}}}}))
    # Run by this interpreter, so the DTLSSocket it imported is the one aiocoap finds.
    return subprocess.run([sys.executable, "-m", "aiocoap.cli.client", "--credentials",
                           str(creds), f"coaps://127.0.0.1:{port}{path}"],
                          capture_output=True, text=True, timeout=timeout)


def test_aiocoap_reads_host_client_over_dtls(dtls_setup, tmp_path):
    pytest.importorskip("DTLSSocket", reason="DTLSSocket (aiocoap's DTLS) is not installed: "
                        "tests/install-deps.sh installs it from tests/requirements.txt")
    r = aiocoap_coaps_get(tmp_path, dtls_setup["port"], "srv-id", KEY_TEXT, "/3/0/0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "lwm2m-c2c"
    dtls_setup["proc"].wait_for("(server 1) -> 2.05")
    no_key(dtls_setup["proc"].output())
    no_key(dtls_setup["server"].output())


def test_aiocoap_with_wrong_key_over_dtls_gets_nothing(dtls_setup, tmp_path):
    pytest.importorskip("DTLSSocket", reason="DTLSSocket (aiocoap's DTLS) is not installed: "
                        "tests/install-deps.sh installs it from tests/requirements.txt")
    before = dtls_setup["proc"].output().count("served GET /3/0/0")
    try:
        # A failed handshake leaves aiocoap retrying until its exchange lifetime: 15 s of it
        # are enough to see that nothing is served.
        r = aiocoap_coaps_get(tmp_path, dtls_setup["port"], "srv-id", "fedcba9876543210",
                              "/3/0/0", timeout=15)
        out, err = r.stdout, r.stderr
        assert r.returncode != 0
    except subprocess.TimeoutExpired as e:
        out, err = e.stdout or b"", e.stderr or b""
        out, err = (x.decode() if isinstance(x, bytes) else x for x in (out, err))
    assert "lwm2m-c2c" not in out
    # Refused by the handshake, not for want of a DTLS transport in aiocoap.
    assert "NoRequestInterface" not in err, err
    assert dtls_setup["proc"].output().count("served GET /3/0/0") == before


def aiocoap_context(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    # The server's view: the client's recipient ID is our sender ID.
    (d / "settings.json").write_text(json.dumps({
        "sender-id_hex": "02", "recipient-id_hex": "01", "secret_hex": SECRET,
        "salt_hex": SALT, "algorithm": "AES-CCM-16-64-128", "kdf-hashfun": "sha256"}))
    return d


def aiocoap_get(tmp_path, port, ctxdir, path):
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(
        {f"coap://127.0.0.1:{port}/*": {"oscore": {"contextfile": str(ctxdir) + "/"}}}))
    return subprocess.run([str(VENV_BIN / "aiocoap-client"), "--credentials", str(creds),
                           f"coap://127.0.0.1:{port}{path}"],
                          capture_output=True, text=True, timeout=30)


def oscore_client(tmp_path, port, seqno_file, log):
    # The server is a port nobody listens on: only aiocoap talks to the client.
    dead = free_udp_port()
    return Proc([str(BIN / "lwm2m-client"), "--endpoint", "sec-oscore",
                 "--server", f"coap://127.0.0.1:{dead}",
                 "--oscore", f"{SECRET},{SALT},01,02", "--oscore-seqno-file", str(seqno_file),
                 "--bind", f"127.0.0.1:{port}", "--temperature", "1", "--duration", "60"],
                tmp_path / log)


def test_aiocoap_reads_host_client_over_oscore_and_after_restart(tmp_path):
    port = free_udp_port()
    seqno = tmp_path / "seqno"
    ctx = aiocoap_context(tmp_path, "ctx")
    cli = oscore_client(tmp_path, port, seqno, "client1.log")
    try:
        cli.wait_for("lwm2m-client: endpoint")
        r = aiocoap_get(tmp_path, port, ctx, "/3/0/0")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "lwm2m-c2c"
        cli.wait_for("(server 1) -> 2.05")
        no_key(cli.output())
    finally:
        cli.stop()
    assert seqno.exists()
    # Restart: the client resumes above its persisted limit, its replay window is unknown, so
    # aiocoap's next request is answered with 4.01 + Echo and repeated by aiocoap.
    cli = oscore_client(tmp_path, port, seqno, "client2.log")
    try:
        cli.wait_for("lwm2m-client: endpoint")
        r = aiocoap_get(tmp_path, port, ctx, "/3/0/0")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "lwm2m-c2c"
        no_key(cli.output())
    finally:
        cli.stop()


def test_aiocoap_with_unknown_kid_gets_unauthorized(tmp_path):
    """A context the client does not have: the RFC 8613 section 8.2 answer (unprotected 4.01),
    never the resource."""
    port = free_udp_port()
    d = tmp_path / "bad"
    d.mkdir()
    (d / "settings.json").write_text(json.dumps({
        "sender-id_hex": "09", "recipient-id_hex": "01", "secret_hex": SECRET,
        "salt_hex": SALT, "algorithm": "AES-CCM-16-64-128", "kdf-hashfun": "sha256"}))
    cli = oscore_client(tmp_path, port, tmp_path / "seq", "client.log")
    try:
        cli.wait_for("lwm2m-client: endpoint")
        creds = tmp_path / "credentials.json"
        creds.write_text(json.dumps(
            {f"coap://127.0.0.1:{port}/*": {"oscore": {"contextfile": str(d) + "/"}}}))
        r = subprocess.run([str(VENV_BIN / "aiocoap-client"), "--credentials", str(creds),
                            f"coap://127.0.0.1:{port}/3/0/0"],
                           capture_output=True, text=True, timeout=15)
        assert "lwm2m-c2c" not in r.stdout
        # The outer request (POST, no Uri-Path: RFC 8613 4.1) is all the client saw.
        cli.wait_for("served POST / from 127.0.0.1")
        out = cli.output()
        assert "-> 4.01" in out and "-> 2.05" not in out, out
    finally:
        cli.stop()
