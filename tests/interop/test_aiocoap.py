"""aiocoap (an independent CoAP implementation) reads, writes and observes the host client,
and cbor2 decodes its SenML CBOR and LwM2M CBOR."""
import asyncio
import socket

import cbor2
import pytest
from aiocoap import Context, Message, GET, PUT, POST
from aiocoap.numbers.codes import Code
from aiocoap.numbers.contentformat import ContentFormat

SENML_CBOR = 112
LWM2M_CBOR = 11544
TLV = 11542


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def request(uri, code=GET, accept=None, payload=b"", cf=None, observe=None):
    ctx = await Context.create_client_context()
    try:
        msg = Message(code=code, uri=uri, payload=payload)
        if accept is not None:
            msg.opt.accept = ContentFormat(accept)
        if cf is not None:
            msg.opt.content_format = ContentFormat(cf)
        return await ctx.request(msg).response
    finally:
        await ctx.shutdown()


def senml_records(payload):
    """Resolves SenML base names: [(name, value)]."""
    out, bn = [], ""
    for rec in cbor2.loads(payload):
        bn = rec.get(-2, bn)
        name = bn + rec.get(0, "")
        value = next((rec[k] for k in (2, 3, 4, 8, "vlo") if k in rec), None)
        out.append((name, value))
    return out


def test_read_device_senml_cbor(client):
    r = run(request(client["uri"] + "/3/0", accept=SENML_CBOR))
    assert r.code == Code.CONTENT, r
    assert r.opt.content_format == SENML_CBOR
    recs = dict(senml_records(r.payload))
    assert recs["/3/0/0"] == "lwm2m-c2c"
    assert recs["/3/0/16"] == "U"
    assert isinstance(recs["/3/0/13"], int)


def test_read_temperature_lwm2m_cbor(client):
    r = run(request(client["uri"] + "/3303/0/5700", accept=LWM2M_CBOR))
    assert r.code == Code.CONTENT, r
    doc = cbor2.loads(r.payload)
    # Nested maps (or path-array keys) down to the value: flatten them.
    def flat(node, prefix=()):
        if isinstance(node, dict):
            for k, v in node.items():
                ks = tuple(k) if isinstance(k, list) else (k,)
                yield from flat(v, prefix + ks)
        else:
            yield prefix, node
    values = dict(flat(doc))
    assert (3303, 0, 5700) in values, values
    assert isinstance(values[(3303, 0, 5700)], float)


def test_read_text_and_tlv(client):
    r = run(request(client["uri"] + "/3/0/0"))
    assert r.code == Code.CONTENT
    assert r.payload == b"lwm2m-c2c"
    r = run(request(client["uri"] + "/3/0/0", accept=TLV))
    assert r.code == Code.CONTENT
    # Resource TLV: type 0b11000xxx, id 0, length in the low bits or a length byte.
    assert r.payload[0] & 0xC0 == 0xC0 and r.payload[1] == 0
    assert r.payload.endswith(b"lwm2m-c2c")


def test_write_and_read_back(client):
    uri = client["uri"] + "/3311/0/5850"
    r = run(request(uri, code=PUT, payload=b"1", cf=0))
    assert r.code == Code.CHANGED, r
    assert run(request(uri)).payload == b"1"
    r = run(request(uri, code=PUT, payload=b"0", cf=0))
    assert r.code == Code.CHANGED
    assert run(request(uri)).payload == b"0"


def test_bad_requests_get_error_codes(client):
    assert run(request(client["uri"] + "/3/0/0", accept=9999)).code == Code.NOT_ACCEPTABLE
    assert run(request(client["uri"] + "/9/0")).code == Code.NOT_FOUND
    assert run(request(client["uri"] + "/3/0/0", code=PUT, payload=b"x", cf=0)).code \
        == Code.METHOD_NOT_ALLOWED
    assert run(request(client["uri"] + "/3311/0/5851", code=PUT, payload=b"abc", cf=0)).code \
        == Code.BAD_REQUEST
    assert run(request(client["uri"] + "/3/0/4", code=POST, payload=b"x=1")).code \
        == Code.BAD_REQUEST


def test_observe_gets_notifications(client):
    async def observe():
        ctx = await Context.create_client_context()
        try:
            msg = Message(code=GET, uri=client["uri"] + "/3303/0/5700", observe=0)
            msg.opt.accept = ContentFormat(SENML_CBOR)
            req = ctx.request(msg)
            first = await req.response
            assert first.code == Code.CONTENT
            assert first.opt.observe is not None
            seen = []
            async for n in req.observation:
                seen.append((n.opt.observe, senml_records(n.payload)[0]))
                if len(seen) == 3:
                    req.observation.cancel()
                    break
            return first, seen
        finally:
            await ctx.shutdown()

    first, seen = run(observe())
    seqs = [s for s, _ in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert all(name == "/3303/0/5700" and isinstance(v, float) for _, (name, v) in seen)


def test_malformed_datagrams_do_not_break_the_client(client):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for junk in [b"", b"\x00", b"\x40", b"\x4f\x01\x00\x01", b"\x48\x01\x00\x02abc", b"\xff" * 64,
                 bytes([0x40, 0x01, 0x00, 0x03, 0xFD])]:
        s.sendto(junk, ("127.0.0.1", client["port"]))
    s.close()
    r = run(request(client["uri"] + "/3/0/0"))
    assert r.code == Code.CONTENT
    assert client["proc"].p.poll() is None
