"""Send (LwM2M 1.1 `POST /dp`) to the project's SERVER from an independent client: aiocoap's
codec for CoAP (tests/interop/scripted_client.py) and cbor2 for the SenML CBOR payload. The
server must answer 2.04, show the values at `GET /api/clients/<ep>/send`, and answer 4.00 to a
payload that is no SenML, 4.04 to a peer that is not registered."""
import cbor2
from aiocoap import POST
from aiocoap.numbers.codes import Code

from scripted_client import SENML_CBOR, ScriptedClient, answer
from test_server_clients import api, server  # noqa: F401  (the server fixture)


def test_senml_cbor_send_is_recorded(server):  # noqa: F811
    c = ScriptedClient(server["port"], "sender-1", lambda req: answer(Code.NOT_FOUND))
    other = ScriptedClient(server["port"], "nobody", lambda req: answer(Code.NOT_FOUND))
    try:
        assert c.register().code == Code.CREATED
        # SenML (RFC 8428 / 8428 CBOR labels): bn -2, n 0, v 2, vs 3, vb 4.
        payload = cbor2.dumps([
            {-2: "/3303/0/", 0: "5700", 2: 23.5},
            {0: "5701", 3: "Cel"},
            {-2: "/3/0/", 0: "9", 2: 87},
        ])
        r = c.request(POST, ("dp",), payload, cf=SENML_CBOR)
        assert r.code == Code.CHANGED, r
        status, sent = api(server, "GET", "/clients/sender-1/send")
        assert status == 200
        assert sent["sends"] == 1
        values = {v["path"]: v["value"] for v in sent["values"]}
        assert values == {"/3/0/9": 87, "/3303/0/5700": 23.5, "/3303/0/5701": "Cel"}

        bad = c.request(POST, ("dp",), cbor2.dumps({"not": "senml"}), cf=SENML_CBOR)
        assert bad.code == Code.BAD_REQUEST, bad
        assert api(server, "GET", "/clients/sender-1/send")[1]["sends"] == 1

        stranger = other.request(POST, ("dp",), payload, cf=SENML_CBOR)
        assert stranger.code == Code.NOT_FOUND, stranger
    finally:
        c.stop()
        other.stop()
