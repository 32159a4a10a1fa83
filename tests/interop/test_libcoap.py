"""libcoap's coap-client (Debian libcoap3-bin), a second independent peer."""
import shutil
import subprocess

import cbor2

COAP_CLIENT = shutil.which("coap-client-openssl") or shutil.which("coap-client-gnutls") \
    or shutil.which("coap-client")


def coap(*args):
    assert COAP_CLIENT, "libcoap3-bin is missing: tests/install-deps.sh installs it"
    out = subprocess.run([COAP_CLIENT, "-B", "5", *args], capture_output=True, timeout=20)
    return out.returncode, out.stdout


def test_libcoap_read_text(client):
    rc, out = coap("-m", "get", client["uri"] + "/3/0/0")
    assert rc == 0
    assert out.strip() == b"lwm2m-c2c"


def test_libcoap_read_senml_cbor(client, tmp_path):
    out_file = tmp_path / "payload.cbor"
    rc, _ = coap("-m", "get", "-A", "112", "-o", str(out_file), client["uri"] + "/3/0")
    assert rc == 0
    recs = cbor2.loads(out_file.read_bytes())
    assert isinstance(recs, list) and recs
    assert any(r.get(3) == "lwm2m-c2c" for r in recs)


def test_libcoap_write(client):
    rc, _ = coap("-m", "put", "-t", "0", "-e", "1", client["uri"] + "/3311/0/5850")
    assert rc == 0
    rc, out = coap("-m", "get", client["uri"] + "/3311/0/5850")
    assert out.strip() == b"1"
