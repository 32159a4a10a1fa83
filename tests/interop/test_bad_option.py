"""aiocoap, as an independent CoAP client, sends the host client requests it cannot process
as sent: an unknown critical option must get 4.02 Bad Option (RFC 7252 section 5.4.1), and an
OSCORE option that matches no security context the RFC 8613 section 8.2 answer (4.01 for an
unknown kid, 4.02 for a malformed option), never silence."""
import asyncio

import aiocoap
from aiocoap import Context, Message, GET
from aiocoap.numbers.codes import Code
from aiocoap.optiontypes import OpaqueOption

OSCORE = 9


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def get_with(uri, number, value, confirmable=True):
    ctx = await Context.create_client_context()
    try:
        tuning = aiocoap.Reliable if confirmable else aiocoap.Unreliable
        msg = Message(code=GET, uri=uri, transport_tuning=tuning)
        msg.opt.add_option(OpaqueOption(number, value))
        return await ctx.request(msg).response
    finally:
        await ctx.shutdown()


def test_unknown_critical_option_gets_bad_option(client):
    for number in (25, 2049, 65001):
        r = run(get_with(client["uri"] + "/3/0/0", number, b"x"))
        assert r.code == Code.BAD_OPTION, (number, r)
    r = run(get_with(client["uri"] + "/3/0/0", 25, b"x", confirmable=False))
    assert r.code == Code.BAD_OPTION, r
    # The elective neighbour is ignored: the read succeeds.
    r = run(get_with(client["uri"] + "/3/0/0", 26, b"x"))
    assert r.code == Code.CONTENT and r.payload == b"lwm2m-c2c", r
    client["proc"].wait_for("GET /3/0/0 from 127.0.0.1")
    assert client["proc"].output().count("-> 4.02") >= 4


def test_oscore_option_without_context(client):
    # Well formed: Partial IV 05, kid 07; the client has no OSCORE context with that kid.
    r = run(get_with(client["uri"] + "/3/0/0", OSCORE, bytes([0x09, 0x05, 0x07])))
    assert r.code == Code.UNAUTHORIZED, r
    assert r.payload == b"Security context not found"
    assert r.opt.max_age == 0
    # Reserved flag bits set: cannot be decoded.
    r = run(get_with(client["uri"] + "/3/0/0", OSCORE, b"\xe0"))
    assert r.code == Code.BAD_OPTION, r
    assert r.payload == b"Failed to decode COSE"
