"""Tests of tests/riot/evlog.py's flow figures (run by `make test`, no RIOT needed): the radio
scenario's checks count distinct values, so five copies of one notification are one value."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import evlog  # noqa: E402


def stamped(path, lines):
    path.write_text("".join(f"{100 + i * 0.01:.6f} {line}\n" for i, line in enumerate(lines)))
    return path


def host_log(tmp_path, n):
    return stamped(tmp_path / "host.stamped",
                   [f"EV {1000 * i} value_produced /3303/0/5700 {i}" for i in range(1, n + 1)])


def rx(values, kind="notification_rx"):
    if kind == "value_rx":
        return [f"EV {1000 * v + 20} value_rx /3308/0/5900 {v}.000" for v in values]
    return [f"EV {1000 * v + 20} notification_rx h=0 host=h path=/3303/0/5700 seq={k} value={v}"
            for k, v in enumerate(values)]


def test_copies_of_one_value_are_one_distinct_value_and_duplicates(tmp_path):
    host = host_log(tmp_path, 5)
    req = stamped(tmp_path / "req.stamped", rx([1, 1, 1, 1, 1]))
    assert evlog.flow(host, req) == (1, 4, 0)


def test_losses_are_the_gaps_between_first_and_last_value(tmp_path):
    host = host_log(tmp_path, 8)
    req = stamped(tmp_path / "req.stamped", rx([2, 3, 5, 6]))
    # 4 is lost; 1 came before the observation, 7 and 8 may still be in flight.
    assert evlog.flow(host, req) == (4, 0, 1)


def test_baseline_values_in_thousandths(tmp_path):
    host = host_log(tmp_path, 4)
    req = stamped(tmp_path / "base.stamped", rx([1, 2, 2, 3], kind="value_rx"))
    assert evlog.flow(host, req, rx_kind="value_rx") == (3, 1, 0)


def test_other_lines_and_garbage_are_not_counted(tmp_path):
    host = host_log(tmp_path, 3)
    req = stamped(tmp_path / "req.stamped",
                  ["EV 5 response_rx h=0 code=2.05 value=1", "EV x notification_rx value=2",
                   "garbage", "EV 7 notification_rx h=0 value=abc"] + rx([3]))
    assert evlog.flow(host, req) == (1, 0, 0)


def run_flow(host, req, *args):
    return subprocess.run([sys.executable, str(HERE / "evlog.py"), "flow", str(host), str(req),
                           *args], capture_output=True, text=True, timeout=30)


def test_command_line_check_fails_on_duplicates_and_too_few_values(tmp_path):
    host = host_log(tmp_path, 6)
    clean = stamped(tmp_path / "clean.stamped", rx([1, 2, 3, 4]))
    dup = stamped(tmp_path / "dup.stamped", rx([1, 2, 2, 3]))
    ok = run_flow(host, clean, "--min-distinct", "3", "--max-duplicates", "0")
    assert ok.returncode == 0, ok.stdout
    assert "distinct=4 duplicates=0 lost=0" in ok.stdout
    assert run_flow(host, dup, "--min-distinct", "3", "--max-duplicates", "0").returncode == 1
    assert run_flow(host, clean, "--min-distinct", "5").returncode == 1
    assert run_flow(host, clean, "--min-distinct").returncode == 2


def test_delays_in_a_window_of_arrival_times(tmp_path, capsys):
    host = host_log(tmp_path, 6)
    req = stamped(tmp_path / "req.stamped", rx([1, 2, 3, 4, 5, 6]))
    # Arrival stamps are 100.00, 100.01, ...: the window keeps the 3rd and 4th reception.
    d = evlog.delays(host, req, since=100.015, until=100.035)
    assert len(d) == 2
    assert "2 notification_rx received" in capsys.readouterr().out
