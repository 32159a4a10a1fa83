"""The riot backend without RIOT: it says why it skips, and refuses what c2c.sh cannot run
(the riot runs themselves are by hand: they need RIOTBASE and root)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import experiment
import riot_backend

HERE = Path(__file__).resolve().parent


def test_skips_without_riotbase():
    env = {k: v for k, v in os.environ.items() if k != "RIOTBASE"}
    r = subprocess.run([sys.executable, str(HERE / "eval.py"),
                        str(HERE / "experiments" / "riot-reduced.toml"), "--backend", "riot"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "riot backend skipped: RIOTBASE is not set" in r.stdout


@pytest.mark.parametrize("name", ["riot-reduced", "riot-fig7a"])
def test_the_reduced_experiments_fit(name):
    riot_backend.check(experiment.load(HERE / "experiments" / f"{name}.toml"))


@pytest.mark.parametrize("extra, words", [
    ('[topology]\nforwarders = [0, 10]', "0 to 9 forwarders"),
    ('[topology]\nkind = "random"', "chain topologies"),
    ('[run]\nmode = "auth"', "observe"),
    ('[radio]\nbitrate_kbps = 2000', "250 kbit/s"),
    ('repetitions = 2', "repetitions = 1"),
])
def test_refuses_what_c2c_sh_cannot_do(extra, words):
    e = experiment.parse(f'name = "r"\nfigure = "8"\n{extra}\n', "r.toml")
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        riot_backend.check(e)


def test_one_c2c_sh_run_per_forwarder_count_security_and_interval(tmp_path, monkeypatch):
    """The grid: every forwarder count, security and interval is one c2c.sh run with its
    C2C_FORWARDERS, and each run's directories record the forwarders and their radio hops."""
    calls = []

    def fake_run(argv, env, stdout, **kw):
        calls.append((env["C2C_FORWARDERS"], env["C2C_SECURITY"], env["C2C_PERIOD_MS"]))
        keep = Path(env["C2C_KEEP"])
        for node in ("host", "req", "base"):
            (keep / f"{node}.stamped").write_text("")
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(riot_backend.subprocess, "run", fake_run)
    e = experiment.parse('name = "g"\nfigure = "7a"\n[topology]\nforwarders = [0, 2]\n'
                         '[run]\nsecurity = ["oscore", "dtls"]\nintervals_ms = [1000, 50]\n'
                         'deployments = ["c2c", "server"]\n', "g.toml")
    n, failed = riot_backend.run(e, tmp_path, log=lambda *_: None)
    assert sorted(calls) == sorted((f, s, i) for f in ("0", "2") for s in ("oscore", "psk")
                                   for i in ("1000", "50"))
    # c2c per run, the relay once per forwarder count and interval (first security only).
    assert (n, failed) == (8 + 4, 0)
    infos = [json.loads(p.read_text()) for p in tmp_path.glob("*/run.json")]
    relay = [i for i in infos if i["deployment"] == "server"]
    assert sorted((i["forwarders"], i["hops"]["host-server"]) for i in relay) == \
        [(0, 1), (0, 1), (2, 3), (2, 3)]
    assert {i["hops"]["host-requester"] for i in infos} == {2}


@pytest.mark.parametrize("first_log, attempts, ok", [
    ("drivers/netdev_ieee802154_submac/netdev_ieee802154_submac.c:365 => FAILED ASSERTION.",
     2, True),
    ("no assertion, another failure", 1, False),
])
def test_a_run_with_a_riot_assertion_is_made_once_more(tmp_path, monkeypatch, first_log,
                                                         attempts, ok):
    calls = []

    def fake_run(argv, env, stdout, **kw):
        calls.append(env["C2C_VALUES"])
        keep = Path(env["C2C_KEEP"])
        for node in ("host", "req", "base"):
            (keep / f"{node}.stamped").write_text("")
        (keep / "base.log").write_text(first_log if len(calls) == 1 else "fine")
        return subprocess.CompletedProcess(argv, 1 if len(calls) == 1 else 0)

    monkeypatch.setattr(riot_backend.subprocess, "run", fake_run)
    e = experiment.parse('name = "a"\nfigure = "8"\n[run]\nvalues = 9\n'
                         'deployments = ["c2c"]\n', "a.toml")
    n, failed = riot_backend.run(e, tmp_path, log=lambda *_: None)
    assert calls == ["9"] * attempts
    info = json.loads(next(tmp_path.glob("*/run.json")).read_text())
    assert (info["attempts"], info["ok"], failed) == (attempts, ok, 0 if ok else 1)
    assert (tmp_path / "c2c.sh-oscore-f0-i1000-attempt1").is_dir() == (attempts == 2)
