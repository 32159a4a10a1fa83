"""The `host` backend: target/release/lwm2m-server and lwm2m-client over the medium model.

Per run: the medium (medium.py) with the run's topology, the server (policy allowing the pair,
`--c2c-security oscore|psk`), the hosting client (`--temperature 1 --period <interval>`) and
the requesting client: `--c2c-observe` (C2C observe), `--c2c-read` (mode "auth": authorization
and first read) or `--lights 1` with a relay started over the HTTP API (server-centric, the
server observes the host and writes each value to the requester's /3311/0/5706).

Event log. Every line a process prints is stamped on arrival with the backend's
CLOCK_MONOTONIC (`<seconds> <line>`, kept as `<role>.out`); all processes run on one machine
and one clock, so no alignment is needed beyond that stamp (the pipe latency, well under a
millisecond, is the error). The lines are then translated into the firmware's EV lines
(`<seconds> EV <ms since the process started> <kind> ...`, files `host.ev`, `requester.ev`),
so the analysis reads the format of the firmware's logs (tests/riot/c2c.sh's stamped files):

    host:      notification sent P to A ... observe=N    -> value_produced P N
    requester: c2c #K: request sent to A (plain|OSCORE|DTLS, ...)
                                                          -> c2c_request ... plain|oscore|dtls
               c2c #K: 4.01 unauthorized, owner hint U    -> hint_rx h=K ssid=1
               c2c #K: access request to server S ...     -> auth_begin h=K host=H ssid=S path=P
               c2c #K: access granted by server S ...     -> auth_end host=H ssid=S code=2.01
               c2c #K: response C over X: "v"             -> response_rx ... code=C value=N
                                                 (and notification_rx seq=0 when observing)
               c2c #K: notification C observe=N: "v"
                                                 -> notification_rx seq=N value=N bytes=len(v)
               served PUT /3311/0/5706 from A -> C        -> value_rx /3311/0/5706 N

`value=N` is the host's Observe number of the value (the host notifies at once on every new
reading, so its notification number is its value's sequence number, as c2c-host's values are
on RIOT); the requester's `bytes=` is the payload length for the goodput. For the relay, N
comes from the server's events: the relay writes the host's notifications in order, so the k-th
`relayed` event carries the value of the k-th `notification` event, and the k-th PUT the
requester served is the k-th answered write (see `relay_seqs`).
The server's NDJSON events are kept as `server.ndjson` with the stamp as `"t"`.
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import radio
from medium import Medium

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LWM2M_BIN_DIR", ROOT / "target" / "release"))
PATH_VALUE = "/3303/0/5700"
RELAY_TARGET = "/3311/0/5706"
REGISTER_TIMEOUT_S = 20.0
"""How long a run waits for both clients to register; a run that does not get there fails."""
AUTH_TIMEOUT_S = 100.0
"""How long a mode-auth run waits for the first read's answer (above CoAP's MAX_TRANSMIT_WAIT,
93 s, so a request that is retransmitted to the end still ends inside it)."""
DRAIN_S = 1.5
"""Time after the last value for notifications in flight."""


def free_port(kind=socket.SOCK_DGRAM, host="::1"):
    """A port free at this moment on loopback."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Proc:
    """A child process whose output lines are stamped on arrival."""

    def __init__(self, name, argv, out_dir):
        self.name = name
        self.lines = []
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.file = open(out_dir / f"{name}.out", "w")
        self.cv = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.p.stdout:
            t = time.monotonic()
            line = raw.decode(errors="replace").rstrip("\n")
            with self.cv:
                self.lines.append((t, line))
                self.file.write(f"{t:.6f} {line}\n")
                self.cv.notify_all()

    def count(self, pattern):
        """Lines matching the regular expression so far."""
        r = re.compile(pattern)
        with self.cv:
            return sum(1 for _, line in self.lines if r.search(line))

    def wait_for(self, pattern, n, timeout):
        """True once `n` lines match `pattern`, False after `timeout` s or at exit."""
        r = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            while sum(1 for _, line in self.lines if r.search(line)) < n:
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self.thread.is_alive()):
                    return False
                self.cv.wait(min(left, 0.2))
            return True

    def stop(self):
        """SIGTERM (the clients de-register), then SIGKILL after 3 s, on the process group."""
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.thread.join(timeout=2)
        self.file.close()


def http(port, method, path, body=None, timeout=5):
    """The server's HTTP API; (status, decoded JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError):
        return 0, None


def radio_paths(run):
    """(src, dst) -> radio node path for the three endpoints of the run (both directions)."""
    if run.topology.startswith("f"):
        adj = radio.chain(run.forwarders)
        p = {("host", "requester"): radio.path(adj, "host", "requester"),
             ("host", "server"): radio.path(adj, "host", "gw"),
             ("requester", "server"): radio.path(adj, "requester", "gw")}
    else:   # hop counts only: the intermediate nodes get names of their own per pair
        p = {}
        for pair, n in run.hops.items():
            a, b = pair.split("-")
            p[(a, b)] = [a] + [f"{a[0]}{b[0]}{i}" for i in range(1, n)] + \
                ["gw" if b == "server" else b]
    out = {}
    for (a, b), nodes in p.items():
        out[(a, b)] = nodes
        out[(b, a)] = nodes[::-1]
    return out


NOTIF_SENT = re.compile(r"^notification sent (\S+) to \S+ \S+ (\S+) observe=(\d+)")
C2C = re.compile(r"^c2c #(\d+): (.*)$")
SENT = re.compile(r"^request sent to \S+ \((plain|OSCORE|DTLS)")
RESP = re.compile(r'^response (\S+) over \S+?:? "(.*)"$')
NOTIF_RX = re.compile(r'^notification (\S+) observe=(\d+): "(.*)"$')
SERVED_PUT = re.compile(r"^served PUT (\S+) from .*\(server \d+\) -> \d\.\d\d")


def translate(proc, role, observe, relay_seqs=None):
    """EV lines (stamped) of a process's output, see the module text."""
    out = []
    puts = 0

    def ev(t, text):
        out.append(f"{t:.6f} EV {int((t - proc.t0) * 1000)} {text}")

    for t, line in proc.lines:
        if role == "host":
            m = NOTIF_SENT.match(line)
            if m:
                ev(t, f"value_produced {m.group(1)} {m.group(3)}")
            continue
        m = SERVED_PUT.match(line)
        if m and relay_seqs is not None:
            if puts < len(relay_seqs) and relay_seqs[puts] is not None:
                ev(t, f"value_rx {m.group(1)} {relay_seqs[puts]}")
            puts += 1
            continue
        m = C2C.match(line)
        if not m:
            continue
        h, rest = m.group(1), m.group(2)
        base = f"h={h} host=host path={PATH_VALUE}"
        op = "observe" if observe else "read"
        if (s := SENT.match(rest)):
            ev(t, f"c2c_request {base} {op} {s.group(1).lower()}")
        elif rest.startswith("4.01 unauthorized, owner hint"):
            ev(t, f"hint_rx h={h} ssid=1")
        elif (s := re.match(r"^access request to server (\d+)", rest)):
            ev(t, f"auth_begin h={h} host=host ssid={s.group(1)} path=/3303/0")
        elif (s := re.match(r"^access granted by server (\d+)", rest)):
            ev(t, f"auth_end host=host ssid={s.group(1)} code=2.01 refresh=0")
        elif (s := re.match(r"^access (denied|refused|failed)\D*(\d\.\d\d)?", rest)):
            ev(t, f"auth_end host=host ssid=1 code={s.group(2) or 'error'} refresh=0")
        elif (s := RESP.match(rest)):
            ev(t, f"response_rx {base} code={s.group(1)} value=0 bytes={len(s.group(2))}")
            if observe:
                ev(t, f"notification_rx {base} seq=0 value=0 bytes={len(s.group(2))}")
        elif (s := NOTIF_RX.match(rest)):
            ev(t, f"notification_rx {base} seq={s.group(2)} value={s.group(2)} "
                  f"bytes={len(s.group(3))}")
    return out


def server_events(proc):
    """The server's events, each with its stamp `t`."""
    out = []
    for t, line in proc.lines:
        if line.startswith("event {"):
            try:
                e = json.loads(line[6:])
            except ValueError:
                continue
            e["t"] = t
            out.append(e)
    return out


def relay_seqs(events):
    """Observe number of the value in each relay write the requester answered, in order (None:
    the first write, the value read when the relay started). The server's relay handles the
    host's notifications one after the other (a queue, one blocking write each), so its k-th
    `relayed` event writes the value of the k-th `notification` event (after the first write).
    Any CoAP response code counts: lwm2m-client has no writable Float resource, so it answers
    the Float written to its /3311/0/5706 (a String) with 4.00, after receiving it, which is
    the event measured. Writes that got no answer (timeout) are left out."""
    seqs = [None] + [e.get("response", {}).get("observe") for e in events
                     if e.get("event") == "notification" and e.get("endpoint") == "host"]
    out = []
    relayed = [e for e in events if e.get("event") == "relayed"]
    for k, e in enumerate(relayed):
        if re.fullmatch(r"[245]\.\d\d", e.get("result", "")):
            out.append(seqs[k] if k < len(seqs) else None)
    return out


def run_one(exp, run, out_dir, log=print):
    """Executes one run into `out_dir`; returns its run.json dict (`ok`, `error`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for b in ("lwm2m-server", "lwm2m-client"):
        if not (BIN / b).exists():
            raise FileNotFoundError(f"{BIN / b} missing: cargo build --release -p lwm2m-host "
                                    f"-p lwm2m-server")
    ports = {n: free_port() for n in ("server", "host", "requester")}
    http_port = free_port(socket.SOCK_STREAM, "127.0.0.1")
    real = {n: ("::1", p) for n, p in ports.items()}
    r = exp.radio
    med = Medium(real, radio_paths(run), r.bitrate_kbps, r.frame_loss, r.mac_retries,
                 r.internet_ms, r.max_backlog_ms, seed=exp.seed * 1000 + run.index).start()
    srv_uri = "coap://[::1]:%d" % med.address("server")[1]
    host_uri = "coap://[::1]:%d" % med.address("host")[1]
    (out_dir / "policy.txt").write_text(
        "allow requester=requester host=host path=/3303 rights=read lifetime=600\n")
    info = {"experiment": exp.name, "figure": exp.figure, "backend": "host",
            "deployment": run.deployment, "security": run.security, "interval_ms":
            run.interval_ms, "repetition": run.repetition, "topology": run.topology,
            "forwarders": run.forwarders, "hops": run.hops, "bitrate_kbps": r.bitrate_kbps,
            "values": exp.values, "mode": exp.mode, "ok": False, "error": ""}
    observe = exp.mode == "observe"
    procs = []
    try:
        sec = {"oscore": "oscore", "dtls": "psk"}.get(run.security, "oscore")
        srv = Proc("server", [str(BIN / "lwm2m-server"), "--coap", f"[::1]:{ports['server']}",
                              "--http", f"127.0.0.1:{http_port}", "--no-stdin", "--policy",
                              str(out_dir / "policy.txt"), "--c2c-security", sec], out_dir)
        procs.append(srv)
        if not srv.wait_for(r"CoAP on", 1, 10):
            raise RuntimeError("server did not start")
        period = f"{run.interval_ms / 1000.0:g}"
        host = Proc("host", [str(BIN / "lwm2m-client"), "--endpoint", "host", "--server",
                             srv_uri, "--bind", f"[::1]:{ports['host']}", "--temperature", "1",
                             "--period", period], out_dir)
        procs.append(host)
        if not host.wait_for(r"^registered", 1, REGISTER_TIMEOUT_S):
            raise RuntimeError("hosting client did not register")
        req_args = [str(BIN / "lwm2m-client"), "--endpoint", "requester", "--server", srv_uri,
                    "--bind", f"[::1]:{ports['requester']}"]
        target = f"host,{host_uri},{PATH_VALUE}"
        if run.deployment == "server":
            req_args += ["--lights", "1"]
        elif observe:
            req_args += ["--c2c-observe", target]
        else:
            req_args += ["--c2c-read", target]
        req = Proc("requester", req_args, out_dir)
        procs.append(req)
        if not req.wait_for(r"^registered", 1, REGISTER_TIMEOUT_S):
            raise RuntimeError("requesting client did not register")
        budget = exp.values * run.interval_ms / 1000.0 * 3 + 20
        if run.deployment == "server":
            st, _ = http(http_port, "POST", "/api/relays", {
                "host": "host", "path": PATH_VALUE, "requester": "requester",
                "target": RELAY_TARGET})
            if st not in (200, 201):
                raise RuntimeError(f"relay not started (HTTP {st})")
        if not observe:
            ok = req.wait_for(r"^c2c #\d+: (response|.*fail|.*denied|.*error)", 1,
                              AUTH_TIMEOUT_S)
            info["ok"] = ok and req.count(r"^c2c #\d+: response 2\.05") == 1
            if not info["ok"]:
                info["error"] = "no 2.05 response to the first C2C read"
        else:
            n0 = host.count(NOTIF_SENT.pattern)
            ok = host.wait_for(NOTIF_SENT.pattern, n0 + exp.values + 1, budget)
            time.sleep(DRAIN_S + run.interval_ms / 1000.0)
            info["ok"] = ok
            if not ok:
                info["error"] = f"fewer than {exp.values} values sent within {budget:.0f} s"
    except (RuntimeError, OSError) as e:
        info["error"] = str(e)
    finally:
        for p in reversed(procs):
            p.stop()
        med.stop()
    by = {p.name: p for p in procs}
    evs = server_events(by["server"]) if "server" in by else []
    with open(out_dir / "server.ndjson", "w") as f:
        for e in evs:
            f.write(json.dumps(e) + "\n")
    if "host" in by:
        (out_dir / "host.ev").write_text("\n".join(translate(by["host"], "host", observe))
                                         + "\n")
    if "requester" in by:
        seqs = relay_seqs(evs) if run.deployment == "server" else None
        (out_dir / "requester.ev").write_text(
            "\n".join(translate(by["requester"], "requester", observe, seqs)) + "\n")
    stats = med.stats()
    (out_dir / "medium.json").write_text(json.dumps(stats, indent=1, sort_keys=True))
    (out_dir / "run.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    log(f"eval: run {run.name()}: {'ok' if info['ok'] else 'FAILED: ' + info['error']}")
    return info
