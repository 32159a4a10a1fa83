"""A scripted LwM2M client of the project's SERVER: a UDP socket and aiocoap's message codec
(an independent CoAP implementation), with a handler deciding every answer. It registers,
logs each request the server sends, answers it (piggybacked ACK) and stops by itself."""
import queue
import socket
import threading
import time

from aiocoap import Message, CON, ACK, POST
from aiocoap.numbers.codes import Code

SENML_JSON = 110
SENML_CBOR = 112
TLV = 11542
LWM2M_JSON = 11543
TEXT = 0


def tlv_resource(rid, value: bytes):
    """One Resource TLV (type 11; 8- or 16-bit ID; length in the type byte or one byte)."""
    wide = 0x20 if rid > 0xFF else 0
    ident = rid.to_bytes(2 if wide else 1, "big")
    if len(value) < 8:
        return bytes([0xC0 | wide | len(value)]) + ident + value
    return bytes([0xC8 | wide]) + ident + bytes([len(value)]) + value


class ScriptedClient:
    """`handler(request) -> Message` answers each server request (its code and options and
    payload; the ACK type, message ID and token are filled in)."""

    def __init__(self, server_port, endpoint, handler, lifetime=60):
        self.server = ("127.0.0.1", server_port)
        self.endpoint = endpoint
        self.handler = handler
        self.lifetime = lifetime
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.requests = []
        self.responses = queue.Queue()
        self.mid = 0x2000
        self.stopped = threading.Event()
        self.seen = set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + 120  # bounded even if a test forgets stop()
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            msg = Message.decode(data, addr)
            if msg.code.is_request():
                if msg.mid in self.seen:  # a retransmission: the first answer was sent
                    continue
                self.seen.add(msg.mid)
                self.requests.append(msg)
                ans = self.handler(msg)
                ans.mtype = ACK
                ans.mid = msg.mid
                ans.token = msg.token
                self.sock.sendto(ans.encode(), addr)
            elif msg.mtype == CON:
                self.sock.sendto(Message(mtype=ACK, mid=msg.mid, code=Code.EMPTY).encode(), addr)
                self.responses.put(msg)
            else:
                self.responses.put(msg)

    def register(self, version="1.1", links="</3/0>,</3303/0>", query=None):
        """Sends Register; returns the server's response."""
        q = query if query is not None else [f"ep={self.endpoint}", f"lt={self.lifetime}"] + (
            [f"lwm2m={version}"] if version else [])
        return self.request(POST, ("rd",), links.encode(), cf=40, query=q, what="Register")

    def request(self, code, path, payload=b"", cf=None, query=(), what="the request"):
        """Sends a CON request from this client's socket; returns the server's response."""
        self.mid += 1
        m = Message(code=code, payload=payload)
        # Set after construction: this script manages the message layer itself.
        m.mtype, m.mid, m.token = CON, self.mid, bytes([self.mid & 0xFF, 7])
        m.opt.uri_path = tuple(path)
        if query:
            m.opt.uri_query = tuple(query)
        if cf is not None:
            m.opt.content_format = cf
        self.sock.sendto(m.encode(), self.server)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                r = self.responses.get(timeout=0.2)
            except queue.Empty:
                continue
            if r.mid == self.mid:
                return r
        raise AssertionError(f"no answer to {what}")

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def answer(code, payload=b"", cf=None, observe=None, location=None):
    m = Message(code=code, payload=payload)
    if cf is not None:
        m.opt.content_format = cf
    if observe is not None:
        m.opt.observe = observe
    if location is not None:
        m.opt.location_path = tuple(location)
    return m
