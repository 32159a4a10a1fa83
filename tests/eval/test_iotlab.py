"""The IoT-LAB backend's dry run of every shipped experiment: the calls in order, one per
role and run, nothing contacted (no process started, no socket opened)."""

import io
import re
import socket
import subprocess
from pathlib import Path

import pytest

import experiment
import iotlab_backend

SHIPPED = sorted((Path(__file__).resolve().parent / "experiments").glob("*.toml"))


@pytest.fixture
def no_contact(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the dry run contacted something")
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_dry_run(path, no_contact):
    exp = experiment.load(path)
    out = io.StringIO()
    calls = iotlab_backend.dry_run(exp, out)
    text = out.getvalue().splitlines()
    assert text[0].startswith(f"# iotlab dry run of {path}") and "nothing was contacted" in text[0]
    assert len(text) == len(calls) + 1
    assert all(re.match(rf"\[{k}\] ", line) for k, line in enumerate(text[1:], 1))
    names = [" ".join(c[:2]) for c in calls]
    sub = names.index("iotlab-experiment submit")
    assert names.count("iotlab-experiment submit") == 1
    assert names[sub + 1] == "iotlab-experiment wait"
    assert names[sub + 2] == "iotlab-experiment get"
    assert names[-1 if not exp.iotlab["profile"] else -2] == "iotlab-experiment stop"
    # Every build before the submission, every flash after it.
    assert all(n.startswith("make ") for n in names[:sub] if not n.startswith("iotlab-profile"))
    flashes = [c for c in calls if c[:1] == ["iotlab-node"]]
    runs = exp.runs()
    # Per run host + requester/baseline + its forwarders, and the border router once.
    assert len(flashes) == 1 + sum(2 + r.forwarders for r in runs)
    for r in runs:
        assert sum(1 for c in calls if f"serial-{r.name()}.log" in c[-1]) == 1
        assert sum(1 for c in calls if f"server-{r.name()}.log" in c[-1]) == 1
    submit = calls[sub]
    assert submit[submit.index("-d") + 1] == str(exp.iotlab["duration_min"])
    if exp.iotlab["profile"]:
        assert names[sub - 1] == "iotlab-profile addm3"
        assert submit[-1].endswith("," + exp.iotlab["profile"])
        assert calls[-1][:2] == ["scp", "-r"] and "consumption" in calls[-1][2]


def test_node_list_and_too_short_reservation():
    exp = experiment.parse('name = "n"\nfigure = "7a"\n[topology]\nforwarders = [1]\n'
                           '[iotlab]\nnodes = [11, 12, 13, 14]\nsite = "lille"\n')
    calls = iotlab_backend.plan(exp)
    sub = next(c for c in calls if c[:2] == ["iotlab-experiment", "submit"])
    assert sub[-1] == "lille,m3,11+12+13+14"
    short = experiment.parse('name = "n"\nfigure = "8"\n[run]\nvalues = 5000\n'
                             '[iotlab]\nduration_min = 10\n')
    with pytest.raises(ValueError, match="duration_min"):
        iotlab_backend.plan(short)
    few = experiment.parse('name = "n"\nfigure = "7a"\n[topology]\nforwarders = [3]\n'
                           '[iotlab]\nnodes = [1, 2]\n')
    with pytest.raises(ValueError, match="needs 6"):
        iotlab_backend.plan(few)
