"""The analysis on recorded logs (tests/eval/testdata, EV lines as the backends write them)
with the expected values computed by hand in the comments."""

import csv
import json
import shutil

import pytest

import analyze
import metrics

DATA = __import__("pathlib").Path(__file__).resolve().parent / "testdata"


def test_c2c_flow():
    m = metrics.measure(DATA / "obs-c2c")
    # Host values 1..6 at 101..106 s; requester answers seq=0 (left out), then 1 at 101.010,
    # 2 at 102.020, 4 at 104.015 (stamp 3 ms late: alignment by the smallest difference),
    # 4 again (a duplicate), 5 at 105.030, 6 at 106.0. Its last event is at 106.0, so the
    # window ends at 105.5: values 1..5, delivered 1, 2, 4, 5.
    assert m["delays_ms"] == pytest.approx([10.0, 20.0, 15.0, 30.0])
    assert (m["window"], m["delivered"]) == (5, 4)
    assert m["delivery_rate"] == pytest.approx(0.8)
    # 5 + 4 + 5 + 5 bytes over 101..105 s plus one interval: 19 / 5 s.
    assert m["goodput_Bps"] == pytest.approx(3.8)
    assert m["optimum_Bps"] == pytest.approx(5.0)


def test_server_centric_flow():
    m = metrics.measure(DATA / "obs-server")
    # value_rx of 1, 2, 3 at 101.100, 102.120, 103.110; 4 never; window 1..4 (last event
    # 105.5 s, window end 105.0 s).
    assert m["delays_ms"] == pytest.approx([100.0, 120.0, 110.0])
    assert m["delivery_rate"] == pytest.approx(0.75)
    assert m["goodput_Bps"] == pytest.approx(15 / 4)


def test_authorization_times():
    o = metrics.measure(DATA / "auth-oscore")
    assert o["distribution_ms"] == pytest.approx(850.0)   # 10.021 -> 10.871
    assert o["first_read_ms"] == pytest.approx(12.0)      # 10.872 -> 10.884
    assert o["total_ms"] == pytest.approx(884.0)          # 10.000 -> 10.884
    d = metrics.measure(DATA / "auth-dtls")
    assert d["distribution_ms"] == pytest.approx(2400.0)
    assert d["first_read_ms"] == pytest.approx(150.0)
    assert d["total_ms"] == pytest.approx(2561.0)


def test_cdf_points():
    # The None (a run that never finished) counts: 4 points of 5 runs.
    assert metrics.cdf([300, None, 100, 200, 200]) == [(100, 0.2), (200, 0.4), (200, 0.6),
                                                      (300, 0.8)]
    ms = [metrics.measure(DATA / d) for d in ("auth-oscore", "auth-dtls")]
    assert metrics.cdf(m["distribution_ms"] for m in ms) == [
        (pytest.approx(850.0), 0.5), (pytest.approx(2400.0), 1.0)]


def test_summary_rows(tmp_path):
    for d in DATA.iterdir():
        shutil.copytree(d, tmp_path / d.name)
    paths = analyze.analyze(tmp_path, log=lambda _: None)
    rows = {r["metric"]: r["project"] for r in json.loads((tmp_path / "summary.json")
                                                          .read_text())}
    # Medians 17.5 (10, 15, 20, 30) and 110 ms: 1 - 17.5 / 110 = 84 %.
    assert rows["single-hop delay, C2C below server-centric (median, 0 forwarders)"] == \
        "84 % (17.5 vs 110.0 ms)"
    assert rows["goodput C2C / server-centric at 1000 ms"] == "1.0×"      # 3.8 / 3.75
    assert rows["DTLS credential distributions finished below 1 s"] == "0 % of 1"
    assert rows["first C2C read after authorization, OSCORE (median)"] == "12.0 ms"
    assert rows["first C2C read after authorization, DTLS (median)"] == "150.0 ms"
    assert rows["extra delay per forwarder, server-centric (slope of medians)"] is None
    with open(tmp_path / "runs.csv") as f:
        runs = {r["name"]: r for r in csv.DictReader(f)}
    assert runs["obs-c2c"]["delivery_rate"] == "0.800"
    assert runs["obs-c2c"]["radio_tx_ms"] == "4.000"    # host 3 + requester 1, gateway not
    with open(tmp_path / "delays.csv") as f:
        assert sum(1 for _ in f) == 1 + 4 + 3
    names = {p.name for p in paths}
    assert {"fig7a.png", "fig7b.png"} <= names
    assert all(p.stat().st_size > 1000 for p in paths if p.suffix == ".png")
