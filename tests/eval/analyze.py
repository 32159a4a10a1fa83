#!/usr/bin/env python3
"""From a results directory (one sub-directory per run, any backend) to CSV, PNG and summary.

    analyze.py RESULTS
    analyze.py --summary FILE RESULTS...   only the summary table over several results
                                           directories (FILE: markdown, FILE.json beside it)

writes into RESULTS:
    runs.csv       one row per run: parameters and measures (metrics.py defines them)
    delays.csv     one row per delivered value: run, deployment, security, forwarders,
                   topology, interval, delay in ms
    fig<F>.png     the paper's figures F (7a, 7b, 8, 9, 10) the experiment names, when its
                   runs hold data for it; fig9 is the radio-on-time proxy of the emulated
                   medium, labelled as such
    summary.md     the summary table, the project's numbers next to the paper's
    summary.json   the same rows as JSON: [{"metric":..., "project":..., "paper":...}]
and prints the paths. Exit status 1 when RESULTS has no run.
"""

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import figures  # noqa: E402
import metrics  # noqa: E402

RUN_COLUMNS = ["name", "experiment", "backend", "deployment", "security", "topology",
               "forwarders", "interval_ms", "repetition", "bitrate_kbps", "mode", "ok",
               "produced", "window", "delivered", "delivery_rate", "goodput_Bps",
               "optimum_Bps", "median_delay_ms", "distribution_ms", "first_read_ms",
               "total_ms", "radio_tx_ms", "radio_rx_ms"]


def write_csv(ms, out):
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, RUN_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for m in ms:
            row = dict(m)
            row["median_delay_ms"] = metrics.median(m.get("delays_ms", []))
            radio = m.get("radio_ms", {})
            row["radio_tx_ms"] = sum(tx for n, (tx, _) in radio.items() if n != "gw")
            row["radio_rx_ms"] = sum(rx for n, (_, rx) in radio.items() if n != "gw")
            w.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v)
                        for k, v in row.items()})
    with open(out / "delays.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "deployment", "security", "forwarders", "topology", "interval_ms",
                    "delay_ms"])
        for m in ms:
            for d in m.get("delays_ms", []):
                w.writerow([m["name"], m["deployment"], m["security"], m["forwarders"],
                            m["topology"], m["interval_ms"], f"{d:.3f}"])


def write_summary(ms, out, md=None, how=None):
    rows = metrics.summary(ms)
    md = Path(md) if md else out / "summary.md"
    backends = sorted({m.get("backend", "?") for m in ms})
    lines = [f"| metric (backend: {', '.join(backends)}) | this project | paper (IoT-LAB) |",
             "|---|---|---|"]
    for metric, ours, paper in rows:
        lines.append(f"| {metric} | {ours if ours is not None else 'not measured here'} | "
                     f"{paper} |")
    ok = sum(1 for m in ms if m.get("ok"))
    lines.append("")
    how = how or f"python3 tests/eval/analyze.py {out}"
    lines.append(f"{len(ms)} runs, {ok} completed; `{how}` made this table.")
    md.write_text("\n".join(lines) + "\n")
    md.with_suffix(".json").write_text(json.dumps(
        [{"metric": a, "project": b, "paper": c} for a, b, c in rows], indent=1,
        ensure_ascii=False))
    return lines


def analyze(results, log=print):
    """Writes everything; returns the paths written (figures only where there was data)."""
    out = Path(results)
    ms = metrics.runs(out)
    if not ms:
        raise ValueError(f"{out}: no run directories (*/run.json)")
    write_csv(ms, out)
    lines = write_summary(ms, out)
    backend = ",".join(sorted({m.get("backend", "?") for m in ms}))
    paths = [out / "runs.csv", out / "delays.csv", out / "summary.md", out / "summary.json"]
    wanted = set()
    for m in ms:
        f = m.get("figure", ())
        wanted.update([f] if isinstance(f, str) else f)
    for name in sorted(wanted & set(figures.ALL)):
        p = figures.ALL[name](ms, out / f"fig{name}.png", backend)
        if p is not None:
            paths.append(p)
    for line in lines:
        log(line)
    for p in paths:
        log(f"eval: wrote {p}")
    return paths


def main(argv):
    if argv[:1] == ["--summary"] and len(argv) >= 3:
        try:
            ms = [m for d in argv[2:] for m in metrics.runs(d)]
            if not ms:
                raise ValueError(f"no run directories in {' '.join(argv[2:])}")
            how = f"python3 tests/eval/analyze.py --summary {' '.join(argv[1:])}"
            for line in write_summary(ms, None, argv[1], how):
                print(line)
        except (ValueError, OSError) as e:
            print(f"analyze: {e}", file=sys.stderr)
            return 1
        print(f"eval: wrote {argv[1]}")
        return 0
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        analyze(argv[0])
    except (ValueError, OSError) as e:
        print(f"analyze: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
