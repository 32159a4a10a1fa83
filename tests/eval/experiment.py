"""Experiment files (TOML) of the evaluation pipeline: loading, validation, expansion to runs.

One file describes one experiment for every backend (`host`, `iotlab`); the format is
documented in tests/eval/README.md ("Experiment files"). `load(path)` returns an `Experiment`
or raises `ExperimentError` naming the file, the key and what was expected; unknown keys are
errors too (a typo must not silently fall back to a default). `Experiment.runs()` expands the
lists (forwarder counts or topologies x deployments x security x intervals x repetitions) into
the single runs a backend executes, in a fixed order.
"""

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

FIGURES = ("7a", "7b", "8", "9", "10")
DEPLOYMENTS = ("c2c", "server")
SECURITY = ("oscore", "dtls")
MODES = ("observe", "auth")
TOPOLOGIES = ("chain", "random", "explicit")
BITRATES_KBPS = (250, 2000)
"""The AT86RF231 rates the paper used (minimum and maximum)."""

MAX_RUNS = 2000
"""Runs one experiment may expand to; more is an error (a typo such as 10000 repetitions)."""

ROLE_KEYS = {"app", "knobs"}
ROLES = ("host", "requester", "baseline", "forwarder", "border_router")


class ExperimentError(ValueError):
    """An experiment file that cannot be used; the message names file and key."""


@dataclass(frozen=True)
class Radio:
    """The 802.15.4 medium model's parameters (see radio.py)."""

    bitrate_kbps: int = 250
    frame_loss: float = 0.0
    mac_retries: int = 3
    internet_ms: float = 0.0
    max_backlog_ms: float = 2000.0


@dataclass(frozen=True)
class Topology:
    """chain: gateway - forwarders - {host, requester}; random: generated graphs; explicit:
    hop counts given."""

    kind: str = "chain"
    forwarders: tuple = (0,)
    nodes: int = 20
    count: int = 6
    min_distance_m: float = 2.2
    max_distance_m: float = 6.6
    hops: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One run: what a backend starts and measures once."""

    index: int
    deployment: str
    security: str
    interval_ms: int
    repetition: int
    topology: str
    forwarders: int
    hops: dict

    def name(self):
        """Directory name of the run's logs."""
        sec = self.security if self.deployment == "c2c" else "nosec"
        return (f"{self.index:04d}-{self.deployment}-{sec}-{self.topology}-"
                f"i{self.interval_ms}-r{self.repetition}")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    path: str
    name: str
    description: str
    figure: tuple
    seed: int
    repetitions: int
    mode: str
    deployments: tuple
    security: tuple
    intervals_ms: tuple
    values: int
    radio: Radio
    topology: Topology
    roles: dict
    iotlab: dict

    def topologies(self):
        """(name, forwarders, hops) per topology variant; hops maps `host-requester`,
        `host-server`, `requester-server` to radio hop counts (server: to the gateway)."""
        t = self.topology
        if t.kind == "chain":
            return [(f"f{n}", n, {"host-requester": 1, "host-server": n + 1,
                                  "requester-server": n + 1}) for n in t.forwarders]
        if t.kind == "explicit":
            return [("explicit", max(t.hops["host-server"] - 1, 0), dict(t.hops))]
        import radio  # here: radio imports nothing of this module, the import stays one-way
        rng = random.Random(self.seed)
        out = []
        for k in range(t.count):
            g = radio.random_topology(rng, t.nodes, t.min_distance_m, t.max_distance_m)
            out.append((f"rand{k}", g["hops"]["host-server"] - 1, g["hops"]))
        return out

    def runs(self):
        """Every run, in the order a backend executes them."""
        out = []
        for topo, fwd, hops in self.topologies():
            for dep in self.deployments:
                secs = self.security if dep == "c2c" else ("nosec",)
                for sec in secs:
                    for iv in self.intervals_ms:
                        for rep in range(self.repetitions):
                            out.append(Run(len(out), dep, sec, iv, rep, topo, fwd, hops))
        return out


def _take(table, key, kind, default, where, check=None, what=None):
    if key not in table:
        return default
    v = table[key]
    ok = isinstance(v, kind) and not (kind in (int, float) and isinstance(v, bool))
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v, ok = float(v), True
    if not ok or (check is not None and not check(v)):
        raise ExperimentError(f"{where}: `{key}` = {v!r}: expected {what or kind.__name__}")
    return v


def _list(table, key, allowed, default, where, item=str):
    v = table.get(key, list(default))
    if not isinstance(v, list) or not v:
        raise ExperimentError(f"{where}: `{key}` = {v!r}: expected a non-empty list")
    for x in v:
        if not isinstance(x, item) or isinstance(x, bool) or (allowed and x not in allowed):
            raise ExperimentError(f"{where}: `{key}` item {x!r}: expected one of "
                                  f"{', '.join(map(str, allowed))}" if allowed else
                                  f"{where}: `{key}` item {x!r}: expected {item.__name__}")
    if len(set(v)) != len(v):
        raise ExperimentError(f"{where}: `{key}` = {v!r}: an item is repeated")
    return tuple(v)


def _unknown(table, known, where):
    extra = sorted(set(table) - set(known))
    if extra:
        raise ExperimentError(f"{where}: unknown key(s) {', '.join(extra)} "
                              f"(known: {', '.join(sorted(known))})")


def parse(text, path="<string>"):
    """An `Experiment` from TOML text; `ExperimentError` when it is not a valid one."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ExperimentError(f"{path}: not TOML: {e}") from None
    top = {"name", "description", "figure", "seed", "repetitions", "radio", "topology", "run",
           "roles", "iotlab"}
    _unknown(d, top, path)
    name = _take(d, "name", str, None, path, lambda s: s.replace("-", "").replace("_", "")
                 .isalnum(), "a name of letters, digits, - and _")
    if name is None:
        raise ExperimentError(f"{path}: `name` is required")
    figure = d.get("figure")
    if figure is None:
        raise ExperimentError(f"{path}: `figure` is required (one of {', '.join(FIGURES)})")
    figure = (figure,) if isinstance(figure, str) else figure
    if not isinstance(figure, (list, tuple)) or not figure or any(f not in FIGURES
                                                                  for f in figure):
        raise ExperimentError(f"{path}: `figure` = {d['figure']!r}: expected one of "
                              f"{', '.join(FIGURES)}, or a list of them")
    figure = tuple(figure)
    seed = _take(d, "seed", int, 1, path)
    reps = _take(d, "repetitions", int, 1, path, lambda n: 1 <= n <= 1000, "1..1000")

    r = d.get("run", {})
    w = f"{path} [run]"
    if not isinstance(r, dict):
        raise ExperimentError(f"{w}: expected a table")
    _unknown(r, {"mode", "deployments", "security", "intervals_ms", "values"}, w)
    mode = _take(r, "mode", str, "observe", w, lambda s: s in MODES, " or ".join(MODES))
    deps = _list(r, "deployments", DEPLOYMENTS, ("c2c",), w)
    sec = _list(r, "security", SECURITY, ("oscore",), w)
    ivs = _list(r, "intervals_ms", None, (1000,), w, int)
    if any(not 5 <= i <= 600_000 for i in ivs):
        raise ExperimentError(f"{w}: `intervals_ms` = {list(ivs)}: each 5..600000 ms")
    values = _take(r, "values", int, 20, w, lambda n: 1 <= n <= 100_000, "1..100000")
    if mode == "auth" and deps != ("c2c",):
        raise ExperimentError(f"{w}: mode \"auth\" (authorization + first read) needs "
                              f"deployments = [\"c2c\"]")

    rd = d.get("radio", {})
    w = f"{path} [radio]"
    _unknown(rd, {"bitrate_kbps", "frame_loss", "mac_retries", "internet_ms",
                  "max_backlog_ms"}, w)
    radio_ = Radio(
        _take(rd, "bitrate_kbps", int, 250, w, lambda b: b in BITRATES_KBPS,
              " or ".join(map(str, BITRATES_KBPS))),
        _take(rd, "frame_loss", float, 0.0, w, lambda p: 0.0 <= p < 1.0, "0 <= p < 1"),
        _take(rd, "mac_retries", int, 3, w, lambda n: 0 <= n <= 7, "0..7 (802.15.4)"),
        _take(rd, "internet_ms", float, 0.0, w, lambda x: 0.0 <= x <= 10_000, "0..10000"),
        _take(rd, "max_backlog_ms", float, 2000.0, w, lambda x: 1.0 <= x <= 60_000,
              "1..60000"))

    t = d.get("topology", {})
    w = f"{path} [topology]"
    _unknown(t, {"kind", "forwarders", "nodes", "count", "min_distance_m", "max_distance_m",
                 "hops"}, w)
    kind = _take(t, "kind", str, "chain", w, lambda s: s in TOPOLOGIES, " | ".join(TOPOLOGIES))
    fwd = _list(t, "forwarders", None, (0,), w, int) if kind == "chain" else (0,)
    if any(not 0 <= n <= 16 for n in fwd):
        raise ExperimentError(f"{w}: `forwarders` = {list(fwd)}: each 0..16")
    hops = {}
    if kind == "explicit":
        hops = t.get("hops")
        want = {"host-requester", "host-server", "requester-server"}
        if not isinstance(hops, dict) or set(hops) != want or any(
                not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 17
                for v in hops.values()):
            raise ExperimentError(f"{w}: `hops` = {hops!r}: expected a table with exactly "
                                  f"{', '.join(sorted(want))}, each 1..17")
    topo = Topology(
        kind, fwd,
        _take(t, "nodes", int, 20, w, lambda n: 3 <= n <= 200, "3..200"),
        _take(t, "count", int, 6, w, lambda n: 1 <= n <= 100, "1..100"),
        _take(t, "min_distance_m", float, 2.2, w, lambda x: x > 0, "> 0"),
        _take(t, "max_distance_m", float, 6.6, w, lambda x: x > 0, "> 0"),
        hops)
    if topo.min_distance_m >= topo.max_distance_m:
        raise ExperimentError(f"{w}: min_distance_m must be below max_distance_m")

    roles = d.get("roles", {})
    w = f"{path} [roles]"
    _unknown(roles, ROLES, w)
    for k, v in roles.items():
        if not isinstance(v, dict):
            raise ExperimentError(f"{w}: `{k}`: expected a table {{ app = ..., knobs = ... }}")
        _unknown(v, ROLE_KEYS, f"{w} {k}")
        if not isinstance(v.get("app"), str):
            raise ExperimentError(f"{w} {k}: `app` (a folder under apps/) is required")
        knobs = v.get("knobs", {})
        if not isinstance(knobs, dict) or any(not isinstance(x, (str, int)) or
                                              isinstance(x, bool) for x in knobs.values()):
            raise ExperimentError(f"{w} {k}: `knobs`: expected a table of make variables "
                                  f"(strings or integers)")
    io = d.get("iotlab", {})
    w = f"{path} [iotlab]"
    _unknown(io, {"site", "archi", "duration_min", "profile", "nodes", "name"}, w)
    iot = {
        "site": _take(io, "site", str, "grenoble", w),
        "archi": _take(io, "archi", str, "m3:at86rf231", w),
        "duration_min": _take(io, "duration_min", int, 60, w, lambda n: 1 <= n <= 1440,
                              "1..1440"),
        "profile": _take(io, "profile", str, "", w),
        "nodes": _take(io, "nodes", list, [], w, lambda v: all(
            isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v),
            "a list of node numbers"),
        "name": _take(io, "name", str, f"lwm2m-c2c-{name}", w),
    }
    e = Experiment(str(path), name, _take(d, "description", str, "", path), figure, seed, reps,
                   mode, deps, sec, ivs, values, radio_, topo, roles, iot)
    n = len(e.topology.forwarders if kind == "chain" else range(topo.count if kind == "random"
                                                               else 1))
    n *= sum(len(sec) if dep == "c2c" else 1 for dep in deps) * len(ivs) * reps
    if n > MAX_RUNS:
        raise ExperimentError(f"{path}: expands to {n} runs, more than MAX_RUNS={MAX_RUNS}")
    return e


def load(path):
    """The experiment in file `path`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ExperimentError(f"{path}: cannot read: {e.strerror}") from None
    return parse(text, str(path))
