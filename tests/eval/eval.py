#!/usr/bin/env python3
"""The paper's evaluation in one command: run an experiment file on a backend, then analyse.

    eval.py EXPERIMENT.toml [--backend host|riot|iotlab] [--out DIR] [--dry-run] [--check]

    --backend host    (default) target/release/lwm2m-server and lwm2m-client over the
                      userspace 802.15.4 medium model (medium.py), on loopback
    --backend riot    native64 firmware on the simulated radio via tests/riot/c2c.sh
                      (riot_backend.py: what it can run); without RIOTBASE or root it
                      says why and exits 0
    --backend iotlab  with --dry-run: prints every IoT-LAB call in order, contacts nothing
    --out DIR         results directory (default target/eval/<name>-<backend>); a previous
                      results directory there is replaced (only one this command made)
    --check           only validate the experiment file and print its runs

Prints where the figures, CSV files and the summary table are (analyze.py).
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import experiment  # noqa: E402

ROOT = HERE.parents[1]
MARKER = ".eval-results"
"""File that marks a directory as results of this command (so --out never removes others)."""


def results_dir(path):
    """Creates (or empties, when it holds earlier results) the results directory."""
    p = Path(path)
    if p.exists():
        if not (p / MARKER).exists():
            raise ValueError(f"{p} exists and holds no earlier results ({MARKER} missing); "
                             f"choose another --out")
        shutil.rmtree(p)
    p.mkdir(parents=True)
    (p / MARKER).write_text("made by tests/eval/eval.py\n")
    return p


def run_host(exp, out):
    import host_backend
    runs = exp.runs()
    t0 = time.monotonic()
    print(f"eval: {exp.name}: {len(runs)} runs on the host backend into {out}")
    failed = 0
    for r in runs:
        info = host_backend.run_one(exp, r, out / r.name())
        failed += not info["ok"]
    print(f"eval: {len(runs) - failed}/{len(runs)} runs completed in "
          f"{time.monotonic() - t0:.0f} s")
    return failed


def main(argv):
    ap = argparse.ArgumentParser(prog="eval.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment")
    ap.add_argument("--backend", choices=("host", "riot", "iotlab"), default="host")
    ap.add_argument("--out")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    try:
        exp = experiment.load(a.experiment)
    except experiment.ExperimentError as e:
        print(f"eval: {e}", file=sys.stderr)
        return 2
    if a.check:
        for r in exp.runs():
            print(f"eval: run {r.name()} hops {r.hops}")
        return 0
    if a.backend == "iotlab":
        import iotlab_backend
        if not a.dry_run:
            print("eval: the iotlab backend only prints its calls: add --dry-run (it never "
                  "contacts the testbed itself)", file=sys.stderr)
            return 2
        try:
            iotlab_backend.dry_run(exp)
        except ValueError as e:
            print(f"eval: {e}", file=sys.stderr)
            return 2
        return 0
    if a.dry_run:
        print("eval: --dry-run applies to the iotlab backend", file=sys.stderr)
        return 2
    if a.backend == "riot":
        import riot_backend
        why = riot_backend.unavailable()
        if why:
            print(f"eval: riot backend skipped: {why}")
            return 0
        try:
            riot_backend.check(exp)
        except ValueError as e:
            print(f"eval: {e}", file=sys.stderr)
            return 2
    import analyze
    try:
        out = results_dir(a.out or ROOT / "target" / "eval" / f"{exp.name}-{a.backend}")
        if a.backend == "riot":
            t0 = time.monotonic()
            n, failed = riot_backend.run(exp, out)
            print(f"eval: {n - failed}/{n} runs completed in {time.monotonic() - t0:.0f} s")
        else:
            failed = run_host(exp, out)
            n = len(exp.runs())
        analyze.analyze(out)
    except (ValueError, OSError) as e:
        print(f"eval: {e}", file=sys.stderr)
        return 1
    print(f"eval: figures, CSV and summary in {out}")
    if failed:
        print(f"eval: {failed} run(s) did not complete (runs.csv: ok, run.json: error)")
    # Failed runs are data too (lossy links); only an experiment without any is an error.
    return 1 if failed == n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
