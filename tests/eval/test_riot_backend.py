"""The riot backend without RIOT: it says why it skips, and refuses what c2c.sh cannot run
(the riot runs themselves are by hand: they need RIOTBASE and root)."""

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


def test_the_reduced_experiment_fits():
    riot_backend.check(experiment.load(HERE / "experiments" / "riot-reduced.toml"))


@pytest.mark.parametrize("extra, words", [
    ('[topology]\nforwarders = [0, 1]', "forwarders = [0] only"),
    ('[run]\nmode = "auth"', "observe"),
    ('[radio]\nbitrate_kbps = 2000', "250 kbit/s"),
    ('repetitions = 2', "repetitions = 1"),
])
def test_refuses_what_c2c_sh_cannot_do(extra, words):
    e = experiment.parse(f'name = "r"\nfigure = "8"\n{extra}\n', "r.toml")
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        riot_backend.check(e)
