"""Scripted clients of the project's SERVER (tests/interop/scripted_client.py, aiocoap's codec)
that behave like clients this project did not write: a TLV-only client, a text-only one, a
SenML-JSON client, a 1.0 client answering in LwM2M JSON, a 1.2 client that expects 4.12, a
client that checks the options of an Observe cancel, and Create with an instance ID. The
server is driven through its HTTP API."""
import json
import struct
import urllib.error
import urllib.request

import cbor2
import pytest
from aiocoap.numbers.codes import Code

from conftest import BIN, Proc, free_tcp_port, free_udp_port
from scripted_client import (LWM2M_JSON, SENML_CBOR, SENML_JSON, TEXT, TLV, ScriptedClient,
                             answer, tlv_resource)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server-clients")
    port, http = free_udp_port(), free_tcp_port()
    p = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{port}",
              "--http", f"127.0.0.1:{http}", "--no-stdin", "--timeout", "5"],
             tmp / "server.log")
    try:
        p.wait_for("HTTP API on")
        yield dict(port=port, api=f"http://127.0.0.1:{http}/api", proc=p)
    finally:
        p.stop()


def api(server, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server["api"] + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def scripted(server):
    made = []

    def make(endpoint, handler, version="1.1"):
        c = ScriptedClient(server["port"], endpoint, handler)
        r = c.register(version=version)
        assert r.code == Code.CREATED, r
        made.append(c)
        return c
    yield make
    for c in made:
        c.stop()


DEVICE_TLV = tlv_resource(0, b"scripted") + tlv_resource(9, b"\x64")
TEMP_TLV = tlv_resource(5700, struct.pack(">f", 21.5))


def tlv_only(req):
    """Supports TLV (and text for single resources), answers 4.06 / 4.15 to anything else."""
    if req.code == Code.GET:
        if req.opt.accept == TLV:
            return answer(Code.CONTENT, DEVICE_TLV, cf=TLV)
        return answer(Code.NOT_ACCEPTABLE)
    if req.opt.content_format != TLV:
        return answer(Code.UNSUPPORTED_CONTENT_FORMAT)
    return answer(Code.CHANGED)


def accepts(c):
    return [r.opt.accept for r in c.requests if r.code == Code.GET]


def test_tlv_only_client_read_falls_back_and_is_remembered(server, scripted):
    c = scripted("tlv-only", tlv_only)
    st, j = api(server, "GET", "/clients/tlv-only/3/0")
    assert st == 200 and j["success"], j
    assert {"path": "/3/0/0", "value": "scripted", "type": "string"} in j["values"]
    assert accepts(c) == [SENML_CBOR, TLV]
    # Remembered for the registration: the next read asks in TLV at once.
    st, j = api(server, "GET", "/clients/tlv-only/3/0")
    assert st == 200 and j["success"], j
    assert accepts(c) == [SENML_CBOR, TLV, TLV]
    assert api(server, "GET", "/clients/tlv-only")[1]["format"] == "tlv"


def test_tlv_only_client_write_falls_back(server, scripted):
    c = scripted("tlv-only-w", tlv_only)
    st, j = api(server, "PUT", "/clients/tlv-only-w/3/0/14", "+02")
    assert st == 200 and j["code"] == "2.04", j
    formats = [r.opt.content_format for r in c.requests]
    assert formats == [SENML_CBOR, TLV]
    assert c.requests[-1].payload == tlv_resource(14, b"+02")
    # An explicit format is used alone: no fallback.
    st, j = api(server, "PUT", "/clients/tlv-only-w/3/0/14?format=senml-cbor", "+03")
    assert j["code"] == "4.15" and not j["success"], j
    assert len(c.requests) == 3


def test_text_only_client_gets_text_for_single_resources(server, scripted):
    def text_only(req):
        if req.opt.accept == TEXT:
            return answer(Code.CONTENT, b"21.5", cf=TEXT)
        return answer(Code.NOT_ACCEPTABLE)
    c = scripted("text-only", text_only)
    st, j = api(server, "GET", "/clients/text-only/3303/0/5700")
    assert st == 200 and j["values"][0]["value"] == 21.5, j
    assert accepts(c) == [SENML_CBOR, TLV, SENML_JSON, TEXT]


def test_senml_json_client(server, scripted):
    def senml_json_only(req):
        if req.code == Code.GET:
            if req.opt.accept != SENML_JSON:
                return answer(Code.NOT_ACCEPTABLE)
            if req.opt.uri_path == ("3", "0", "1"):
                return answer(Code.CONTENT, b'[{"n":"/3/0/1","v":', cf=SENML_JSON)
            doc = [{"bn": "/3/0/", "n": "0", "vs": "json-maker"}, {"n": "9", "v": 88}]
            return answer(Code.CONTENT, json.dumps(doc).encode(), cf=SENML_JSON)
        if req.opt.content_format != SENML_JSON:
            return answer(Code.UNSUPPORTED_CONTENT_FORMAT)
        return answer(Code.CHANGED)
    c = scripted("senml-json", senml_json_only)
    st, j = api(server, "GET", "/clients/senml-json/3/0")
    assert st == 200 and j["success"], j
    assert {"path": "/3/0/9", "value": 88, "type": "integer"} in j["values"]
    assert accepts(c) == [SENML_CBOR, TLV, SENML_JSON]
    # Writes go out in SenML JSON now (remembered), decodable by any JSON parser.
    st, j = api(server, "POST", "/clients/senml-json/3/0", {"14": "+05", "15": "Europe"})
    assert st == 200 and j["code"] == "2.04", j
    w = c.requests[-1]
    assert w.opt.content_format == SENML_JSON
    recs = json.loads(w.payload)
    bn = ""
    got = {}
    for r in recs:
        bn = r.get("bn", bn)
        got[bn + r.get("n", "")] = r["vs"]
    assert got == {"/3/0/14": "+05", "/3/0/15": "Europe"}
    # A payload that does not decode is an error, not a success with an error field.
    st, j = api(server, "GET", "/clients/senml-json/3/0/1")
    assert st == 502 and j["success"] is False, j
    assert "undecodable" in j["error"] and "payload_hex" in j


def test_lwm2m_json_from_a_1_0_client(server, scripted):
    def json_1_0(req):
        if req.opt.accept == LWM2M_JSON:
            doc = {"bn": "/3/0/", "e": [{"n": "0", "sv": "old-maker"}, {"n": "9", "v": 42}]}
            return answer(Code.CONTENT, json.dumps(doc).encode(), cf=LWM2M_JSON)
        if req.opt.accept == TLV:
            return answer(Code.CONTENT, DEVICE_TLV, cf=TLV)
        return answer(Code.NOT_ACCEPTABLE)
    c = scripted("json-1-0", json_1_0, version="1.0")
    # A 1.0 client is asked in TLV first (mandatory in 1.0).
    st, j = api(server, "GET", "/clients/json-1-0/3/0")
    assert st == 200 and accepts(c) == [TLV], j
    st, j = api(server, "GET", "/clients/json-1-0/3/0?format=lwm2m-json")
    assert st == 200, j
    assert {"path": "/3/0/0", "value": "old-maker", "type": "string"} in j["values"]
    assert {"path": "/3/0/9", "value": 42, "type": "integer"} in j["values"]


def test_unsupported_version_gets_precondition_failed(server):
    c = ScriptedClient(server["port"], "v12", lambda req: answer(Code.NOT_FOUND))
    try:
        for v in ("1.2", "2.0", "9.9"):
            r = c.register(version=v)
            assert r.code == Code.PRECONDITION_FAILED, (v, r)
        assert api(server, "GET", "/clients/v12")[0] == 404
        # Like Anjay, the client falls back to 1.1 and is registered.
        assert c.register(version="1.1").code == Code.CREATED
        assert api(server, "GET", "/clients/v12")[1]["version"] == "1.1"
        # No lwm2m= means 1.0.
        assert c.register(version=None).code == Code.CREATED
        assert api(server, "GET", "/clients/v12")[1]["version"] == "1.0"
    finally:
        c.stop()


def test_cancel_carries_the_observations_options(server, scripted):
    state = {}

    def checking(req):
        if req.code != Code.GET:
            return answer(Code.METHOD_NOT_ALLOWED)
        if req.opt.observe == 1:
            state["cancel"] = req
            # RFC 7641 3.6: the same options as the registering request (ETag aside).
            reg = state["register"]
            if req.opt.accept != reg.opt.accept or req.token != reg.token:
                return answer(Code.NOT_ACCEPTABLE)
            return answer(Code.CONTENT, TEMP_TLV, cf=TLV)
        if req.opt.accept != TLV:
            return answer(Code.NOT_ACCEPTABLE)
        state["register"] = req
        return answer(Code.CONTENT, TEMP_TLV, cf=TLV, observe=3)
    scripted("cancel-check", checking)
    # No format given: SenML CBOR refused, the observation is made in TLV.
    st, j = api(server, "POST", "/clients/cancel-check/3303/0/5700/observe")
    assert st == 200 and j["observe"] == 3, j
    assert state["register"].opt.observe == 0
    st, j = api(server, "DELETE", "/clients/cancel-check/3303/0/5700/observe")
    assert st == 200 and j["code"] == "2.05", j
    assert state["cancel"].opt.accept == TLV
    assert state["cancel"].opt.uri_path == ("3303", "0", "5700")


def test_create_with_instance_id_reports_the_location(server, scripted):
    def creating(req):
        if req.code != Code.POST:
            return answer(Code.METHOD_NOT_ALLOWED)
        if req.opt.content_format == TLV:
            # Object Instance TLV: type bits 00, 8-bit ID.
            assert req.payload[0] & 0xC0 == 0x00, req.payload
            return answer(Code.CREATED, location=("3303", str(req.payload[1])))
        if req.opt.content_format == SENML_CBOR:
            recs = cbor2.loads(req.payload)
            bn = recs[0][-2]
            return answer(Code.CREATED, location=tuple(bn.strip("/").split("/")[:2]))
        return answer(Code.UNSUPPORTED_CONTENT_FORMAT)
    c = scripted("creator", creating)
    # Without values: the base name alone carries the instance.
    st, j = api(server, "POST", "/clients/creator/3303?instance=7")
    assert st == 200 and j["code"] == "2.01" and j["location"] == "/3303/7", j
    assert cbor2.loads(c.requests[-1].payload) == [{-2: "/3303/7/"}]
    # With values, in TLV: the instance header names it.
    st, j = api(server, "POST", "/clients/creator/3303?instance=8&format=tlv", {"5700": 20.5})
    assert st == 200 and j["location"] == "/3303/8", j
    p = c.requests[-1].payload
    assert p[:2] == bytes([0x07, 8]), p
    # Without values, in TLV: the header alone.
    st, j = api(server, "POST", "/clients/creator/3303?instance=9&format=tlv")
    assert st == 200 and j["location"] == "/3303/9", j
    assert c.requests[-1].payload == bytes([0x00, 9])
