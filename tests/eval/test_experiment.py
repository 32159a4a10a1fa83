"""Experiment files: every shipped one loads and expands; bad ones give errors that name the
key."""

from pathlib import Path

import pytest

import experiment

SHIPPED = sorted((Path(__file__).resolve().parent / "experiments").glob("*.toml"))
PAPER = {"fig7a", "fig7b", "fig8", "fig9", "fig10"}

GOOD = """
name = "t"
figure = "8"
[run]
deployments = ["c2c", "server"]
security = ["oscore", "dtls"]
intervals_ms = [100, 10]
values = 5
[topology]
forwarders = [0, 2]
"""


def test_the_paper_experiments_are_shipped():
    assert PAPER <= {p.stem for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_experiment_loads(path):
    e = experiment.load(path)
    assert e.name == path.stem
    runs = e.runs()
    assert runs and len({r.name() for r in runs}) == len(runs)


def test_expansion_order_and_count():
    e = experiment.parse(GOOD)
    runs = e.runs()
    # 2 topologies x (2 C2C security + 1 server) x 2 intervals.
    assert len(runs) == 12
    assert [r.name() for r in runs[:4]] == [
        "0000-c2c-oscore-f0-i100-r0", "0001-c2c-oscore-f0-i10-r0",
        "0002-c2c-dtls-f0-i100-r0", "0003-c2c-dtls-f0-i10-r0"]
    assert runs[-1].hops == {"host-requester": 1, "host-server": 3, "requester-server": 3}


def test_random_topologies_repeat_with_the_seed():
    t = 'name = "r"\nfigure = "10"\nseed = 5\n[topology]\nkind = "random"\ncount = 3\n'
    a, b = experiment.parse(t).topologies(), experiment.parse(t).topologies()
    assert a == b and len(a) == 3


@pytest.mark.parametrize("text, words", [
    ('figure = "8"', "`name` is required"),
    ('name = "x"', "`figure` is required"),
    ('name = "x"\nfigure = "6"', "`figure`"),
    ('name = "x"\nfigure = "8"\ncolour = 1', "unknown key(s) colour"),
    ('name = "x"\nfigure = "8"\n[run]\nsecurity = ["tls"]', "`security` item 'tls'"),
    ('name = "x"\nfigure = "8"\n[run]\nintervals_ms = [1]', "each 5..600000 ms"),
    ('name = "x"\nfigure = "8"\n[run]\nintervals_ms = []', "non-empty list"),
    ('name = "x"\nfigure = "8"\n[run]\nvalues = true', "`values` = True"),
    ('name = "x"\nfigure = "8"\n[radio]\nbitrate_kbps = 300', "250 or 2000"),
    ('name = "x"\nfigure = "8"\n[radio]\nframe_loss = 1.5', "0 <= p < 1"),
    ('name = "x"\nfigure = "8"\n[topology]\nkind = "explicit"', "`hops`"),
    ('name = "x"\nfigure = "7b"\n[run]\nmode = "auth"\ndeployments = ["server"]',
     "needs deployments"),
    ('name = "x"\nfigure = "8"\nrepetitions = 1000\n[run]\nintervals_ms = [10, 20, 30]',
     "more than MAX_RUNS"),
    ('name = "x"\nfigure = "8"\n[roles]\nhost = { knobs = {} }', "`app`"),
    ('name = "x"\nfigure = "8"\n[iotlab]\nnodes = ["a"]', "node numbers"),
    ('name = [', "not TOML"),
])
def test_bad_files_name_the_problem(text, words):
    with pytest.raises(experiment.ExperimentError) as e:
        experiment.parse(text, "bad.toml")
    assert words in str(e.value) and str(e.value).startswith("bad.toml")


def test_missing_file():
    with pytest.raises(experiment.ExperimentError, match="cannot read"):
        experiment.load("/nonexistent/x.toml")
