"""Firmware Update pull served by the project's SERVER, fetched by an independent peer: a
scripted client (aiocoap's codec, tests/interop/scripted_client.py) registers and takes the
Package URI the server writes to /5/0/1 (`POST /api/clients/<ep>/fota?mode=pull`); aiocoap's
client then GETs that URI with its own Block2 handling, whole and block by block at a size it
chooses. The package must be the manifest (magic, lengths, SHA-256, name, version) followed by
the image byte for byte; an unknown package is 4.04, a block past the end 4.02."""
import asyncio
import hashlib
import struct
import urllib.request

from aiocoap import GET, Context, Message
from aiocoap.numbers.codes import Code
from aiocoap.optiontypes import BlockOption

from scripted_client import ScriptedClient, answer
from test_server_clients import server  # noqa: F401  (the server fixture)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def fetch(uri, block=None, blockwise=True):
    ctx = await Context.create_client_context()
    try:
        msg = Message(code=GET, uri=uri)
        if block is not None:
            msg.opt.block2 = BlockOption.BlockwiseTuple(*block)
        return await ctx.request(msg, handle_blockwise=blockwise).response
    finally:
        await ctx.shutdown()


def image(n):
    return bytes((i * 37 + i // 509) & 0xFF for i in range(n))


def pull(server, ep, body, name, version):
    url = f"{server['api']}/clients/{ep}/fota?mode=pull&name={name}&version={version}"
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=20) as r:
        import json
        return r.status, json.loads(r.read())


def test_aiocoap_fetches_a_served_package_with_block2(server):  # noqa: F811
    written = []

    def handler(req):
        if req.code == Code.PUT and req.opt.uri_path == ("5", "0", "1"):
            written.append(req.payload.decode())
            return answer(Code.CHANGED)
        return answer(Code.NOT_FOUND)

    c = ScriptedClient(server["port"], "pull-peer", handler)
    try:
        assert c.register(links="</3/0>,</5/0>").code == Code.CREATED
        img = image(50_000)
        status, body = pull(server, "pull-peer", img, "app", "4.1")
        assert status == 200 and body["code"] == "2.04", body
        uri = body["uri"]
        assert written == [uri]
        assert uri.startswith(f"coap://127.0.0.1:{server['port']}/fw/"), uri

        # aiocoap's own Block2 reassembly.
        r = run(fetch(uri))
        assert r.code == Code.CONTENT, r
        pkg = r.payload
        magic, version, n, v, _, length = struct.unpack(">4sBBBBI", pkg[:12])
        assert (magic, version, length) == (b"LWFW", 1, len(img))
        assert pkg[12:44] == hashlib.sha256(img).digest()
        assert pkg[44:44 + n + v] == b"app4.1"
        assert pkg[44 + n + v:] == img

        # Block by block at 64 bytes (szx 2), as a small client would ask.
        r = run(fetch(uri, block=(0, 0, 2), blockwise=False))
        assert r.code == Code.CONTENT and r.opt.block2.more and len(r.payload) == 64
        assert r.opt.size2 == len(pkg)
        r = run(fetch(uri, block=(5, 0, 2), blockwise=False))
        assert r.opt.block2.block_number == 5 and r.payload == pkg[320:384]
        last = (len(pkg) - 1) // 64
        r = run(fetch(uri, block=(last, 0, 2), blockwise=False))
        assert not r.opt.block2.more and r.payload == pkg[last * 64:]
        r = run(fetch(uri, block=(last + 1, 0, 2), blockwise=False))
        assert r.code == Code.BAD_OPTION, r

        # An ID the server does not serve.
        r = run(fetch(uri.rsplit("/", 1)[0] + "/999"))
        assert r.code == Code.NOT_FOUND, r
    finally:
        c.stop()
