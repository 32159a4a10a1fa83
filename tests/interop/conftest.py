"""Fixtures: the project's binaries started on loopback, stopped after each test module."""
import os
import pathlib
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process whose output is kept for assertions and failure reports."""

    def __init__(self, args, log):
        self.log_path = log
        self.log = open(log, "w+")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    def output(self):
        self.log.flush()
        return pathlib.Path(self.log_path).read_text()

    def wait_for(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen; output:\n{self.output()}")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A host client with a simulated temperature sensor and a light, registered to the
    project's server, that accepts any NoSec peer as server 1 (so generic CoAP tools can act as
    the LwM2M server)."""
    tmp = tmp_path_factory.mktemp("interop")
    srv_port = free_udp_port()
    http_port = free_tcp_port()
    server = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{srv_port}",
                   "--http", f"127.0.0.1:{http_port}", "--no-stdin"], tmp / "server.log")
    port = free_udp_port()
    cli = Proc([str(BIN / "lwm2m-client"), "--endpoint", "interop-1",
                "--server", f"coap://127.0.0.1:{srv_port}", "--bind", f"127.0.0.1:{port}",
                "--temperature", "1", "--lights", "1", "--period", "0.2",
                "--accept-any-peer-as", "1", "--duration", "120"], tmp / "client.log")
    try:
        cli.wait_for("registered", timeout=15)
        yield dict(port=port, uri=f"coap://127.0.0.1:{port}", proc=cli)
    finally:
        cli.stop()
        server.stop()
