"""Measures of one run from its event log (any backend), and the summary against the paper.

A run directory holds `run.json` (the run's parameters, see host_backend.py), `host.ev` and
`requester.ev` (STAMPED EV lines: `<host seconds> EV <node ms> <kind> ...`, as
tests/riot/evlog.py reads them) and, where the backend has it, `medium.json` (radio time per
node). Times are put on one axis with evlog's method: a node's offset is the smallest
(arrival stamp - EV ms) over its lines; a node's event then happened at offset + EV ms.

Definitions (what the tests of test_metrics.py compute by hand):
- delay: for each value the requester received (`notification_rx` / `value_rx`, by its
  `value=`/last field, first reception only; the first `notification_rx`, the answer to the
  Observe request, excluded, as tests/riot/evlog.py does), its
  reception time minus the time the host produced it (`value_produced`, last field).
- window: the values produced from the first value received up to the last value produced at
  least `SETTLE_S` before the requester's last event (later ones had no time to arrive).
- delivery rate: distinct values received in the window / values produced in the window.
- goodput: payload bytes of the distinct values received in the window (`bytes=`, else
  `VALUE_BYTES`) / (window length + one interval); the link optimum is bytes / interval.
- authorization (mode auth): distribution = auth_end - auth_begin; first read = response_rx
  - the first protected c2c_request after auth_end; total = response_rx - first c2c_request.
"""

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "riot"))
import evlog  # noqa: E402

SETTLE_S = 0.5
"""A value produced later than this before the requester's last event is not counted (it may
still have been in flight when the run stopped); well above every healthy delay (C2C ~6 ms,
server-centric ~100 ms with the Internet hop), short enough for the riot backend's brief flows."""
VALUE_BYTES = 5
"""The paper's value size (5 bytes), used when a reception does not say its size."""
PAPER = {
    "single_hop_reduction_pct": "≈90 %",
    "per_hop_server_ms": "≈15 ms",
    "relay_max_goodput_Bps": "≈50 B/s",
    "goodput_ratio": "≈8×",
    "dtls_distribution_below_1s_pct": "≈50 %",
    "first_read_oscore_ms": "≈10 ms",
    "first_read_dtls_ms": "140-160 ms",
    "random_c2c_faster_pct": "60-90 %",
    "forwarder_extra_radio_pct": "≈12 % more power (measured)",
}


def timeline(path):
    """(time s on the common axis, kind, fields) of a STAMPED EV file, in order."""
    if not Path(path).exists():
        return []
    evs = evlog.events(path)
    off = evlog.offset(evs)
    return [(off + ms / 1000.0, kind, rest) for _, ms, kind, rest in evs]


def field(rest, key):
    """`key=value` field of an EV line, or None."""
    for f in rest:
        if f.startswith(key + "="):
            return f[len(key) + 1:]
    return None


def _int(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return int(v) if v == int(v) else None


def flow(host, req, interval_ms):
    """Delays (ms, per value in order of production), delivery and goodput of an observe run.
    `host`, `req`: timelines."""
    produced = {}
    for t, kind, rest in host:
        if kind == "value_produced" and rest:
            seq = _int(rest[-1])
            if seq is not None and seq not in produced:
                produced[seq] = t
    first_rx = {}
    answer = True
    for t, kind, rest in req:
        if kind == "notification_rx":
            if answer:      # the answer to the Observe request: the value current then
                answer = False
                continue
            v = _int(field(rest, "value"))
        elif kind == "value_rx":
            v = _int(rest[-1]) if rest else None
        else:
            continue
        if v is not None and v not in first_rx:
            b = _int(field(rest, "bytes"))
            first_rx[v] = (t, VALUE_BYTES if b is None else b)
    out = {"produced": len(produced), "received": len(first_rx), "delays_ms": [],
           "window": 0, "delivered": 0, "delivery_rate": None, "goodput_Bps": None,
           "optimum_Bps": VALUE_BYTES * 1000.0 / interval_ms}
    got = [v for v in first_rx if v in produced]
    if not got or not req:
        return out
    end = req[-1][0] - SETTLE_S
    lo = min(got)
    window = sorted(s for s, t in produced.items() if s >= lo and t <= end)
    if not window:
        return out
    delivered = [s for s in window if s in first_rx]
    out["delays_ms"] = [(first_rx[s][0] - produced[s]) * 1000.0 for s in delivered]
    out["window"] = len(window)
    out["delivered"] = len(delivered)
    out["delivery_rate"] = len(delivered) / len(window)
    span = produced[window[-1]] - produced[window[0]] + interval_ms / 1000.0
    out["goodput_Bps"] = sum(first_rx[s][1] for s in delivered) / span
    return out


def auth(req):
    """Authorization and first read of a mode-auth run (ms), None where an event is missing."""
    first_req = begin = end = secure = resp = None
    for t, kind, rest in req:
        if kind == "c2c_request" and first_req is None:
            first_req = t
        elif kind == "auth_begin" and begin is None:
            begin = t
        elif kind == "auth_end" and end is None and field(rest, "code") == "2.01":
            end = t
        elif kind == "c2c_request" and end is not None and secure is None and \
                rest[-1] in ("oscore", "dtls"):
            secure = t
        elif kind == "response_rx" and secure is not None and resp is None:
            resp = t

    def ms(a, b):
        return None if a is None or b is None else (b - a) * 1000.0
    return {"distribution_ms": ms(begin, end), "first_read_ms": ms(secure, resp),
            "total_ms": ms(first_req, resp)}


def cdf(xs):
    """Empirical CDF points (x, fraction of all values <= x), sorted; a None (a run that never
    got there) counts in the fraction's denominator but has no point, so the curve stays
    below 1 when runs failed."""
    xs = list(xs)
    got = sorted(x for x in xs if x is not None)
    return [(x, (i + 1) / len(xs)) for i, x in enumerate(got)]


def radio_time(run_dir):
    """Radio time per node from medium.json: {node: (tx ms, rx ms)}, {} without it."""
    p = Path(run_dir) / "medium.json"
    if not p.exists():
        return {}
    nodes = json.loads(p.read_text()).get("nodes", {})
    return {n: (v["tx_us"] / 1000.0, v["rx_us"] / 1000.0) for n, v in nodes.items()}


def measure(run_dir):
    """Everything measured in one run directory: run.json's fields plus the measures."""
    d = Path(run_dir)
    info = json.loads((d / "run.json").read_text())
    host, req = timeline(d / "host.ev"), timeline(d / "requester.ev")
    if info.get("mode") == "auth":
        info.update(auth(req))
    else:
        info.update(flow(host, req, info["interval_ms"]))
    info["radio_ms"] = radio_time(d)
    return info


def runs(results):
    """Measures of every run under `results` (directories with a run.json), by name."""
    out = []
    for rj in sorted(Path(results).glob("*/run.json")):
        m = measure(rj.parent)
        m["name"] = rj.parent.name
        out.append(m)
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def delays_by(ms, key):
    """{key(run): [delays]} over runs."""
    out = {}
    for m in ms:
        out.setdefault(key(m), []).extend(m.get("delays_ms", []))
    return out


def slope(points):
    """Least-squares slope of (x, y) points, None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    mx = statistics.mean(x for x, _ in points)
    my = statistics.mean(y for _, y in points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def summary(ms):
    """Rows (metric, project value or None, paper value, how) of the summary table."""
    rows = []
    obs = [m for m in ms if m.get("mode") != "auth"]
    # Delays at the longest interval only: shorter ones (Fig. 8) queue at the relay.
    longest = max((m["interval_ms"] for m in obs), default=None)
    slow = [m for m in obs if m["interval_ms"] == longest]
    med = {k: median(v) for k, v in delays_by(slow, lambda m: (m["deployment"],
                                                               m["topology"])).items()}
    c, s = med.get(("c2c", "f0")), med.get(("server", "f0"))
    rows.append(("single-hop delay, C2C below server-centric (median, 0 forwarders)",
                 None if not c or not s else f"{100 * (1 - c / s):.0f} % "
                 f"({c:.1f} vs {s:.1f} ms)", PAPER["single_hop_reduction_pct"]))
    pts = [(m["forwarders"], d) for m in slow if m["deployment"] == "server" and
           m["topology"].startswith("f") for d in m.get("delays_ms", [])]
    per = slope([(f, median([d for g, d in pts if g == f])) for f in {f for f, _ in pts}])
    rows.append(("extra delay per forwarder, server-centric (slope of medians)",
                 None if per is None else f"{per:.1f} ms", PAPER["per_hop_server_ms"]))
    gp = {}
    for m in obs:
        if m.get("goodput_Bps") is not None:
            gp.setdefault((m["deployment"], m["interval_ms"]), []).append(m["goodput_Bps"])
    srv = [(iv, median(v)) for (dep, iv), v in gp.items() if dep == "server"]
    rows.append(("server-centric goodput, best interval (median)",
                 None if not srv else "%.1f B/s at %d ms" % max((g, iv) for iv, g in srv),
                 PAPER["relay_max_goodput_Bps"]))
    both = sorted(iv for (dep, iv) in gp if dep == "c2c" and ("server", iv) in gp)
    if both:
        iv = both[0]
        r = median(gp[("c2c", iv)]) / max(median(gp[("server", iv)]), 1e-9)
        rows.append((f"goodput C2C / server-centric at {iv} ms", f"{r:.1f}×",
                     PAPER["goodput_ratio"]))
    else:
        rows.append(("goodput C2C / server-centric (smallest interval)", None,
                     PAPER["goodput_ratio"]))
    au = [m for m in ms if m.get("mode") == "auth"]
    dt = [m["distribution_ms"] for m in au if m["security"] == "dtls"]
    below = sum(1 for x in dt if x is not None and x < 1000)
    rows.append(("DTLS credential distributions finished below 1 s",
                 None if not dt else f"{100 * below / len(dt):.0f} % of {len(dt)}",
                 PAPER["dtls_distribution_below_1s_pct"]))
    for sec, key in (("oscore", "first_read_oscore_ms"), ("dtls", "first_read_dtls_ms")):
        v = median(m["first_read_ms"] for m in au if m["security"] == sec)
        rows.append((f"first C2C read after authorization, {sec.upper()} (median)",
                     None if v is None else f"{v:.1f} ms", PAPER[key]))
    rnd = {}
    for (dep, topo), v in med.items():
        if topo.startswith("rand") and v is not None:
            rnd.setdefault(topo, {})[dep] = v
    gains = [100 * (1 - d["c2c"] / d["server"]) for d in rnd.values()
             if "c2c" in d and "server" in d and d["server"] > 0]
    rows.append(("random topologies, C2C faster than server-centric (median per topology)",
                 None if not gains else f"{min(gains):.0f}..{max(gains):.0f} % over "
                 f"{len(gains)} topologies", PAPER["random_c2c_faster_pct"]))
    fw, end = [], []
    for m in obs:
        for n, (tx, rx) in m.get("radio_ms", {}).items():
            (fw if n.startswith("f") else end if n in ("host", "requester") else []).append(
                tx + rx)
    rows.append(("radio-on time (TX+RX) of a forwarder vs an end node (mean per node and run), "
                 "PROXY for energy (not a measurement)",
                 None if not fw or not end else
                 f"{100 * (statistics.mean(fw) / statistics.mean(end) - 1):+.0f} %",
                 PAPER["forwarder_extra_radio_pct"]))
    return rows
