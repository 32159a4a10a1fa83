#!/usr/bin/env python3
"""Node output logging and the C2C notification delay from EV lines (tests/riot/c2c.sh).

    evlog.py tee RAW STAMPED          stdin -> RAW (as is) and STAMPED (each line prefixed
                                      with the host's CLOCK_MONOTONIC in seconds)
    evlog.py delays HOST REQUESTER [--max-ms N] [--rx-kind K] [--label L]
                  [--since S] [--until S]
                                      per-notification delay from the two nodes' STAMPED logs
                                      (K: the requester's EV kind, default notification_rx;
                                      value_rx for the server-centric baseline's writes)
    evlog.py flow HOST REQUESTER [--rx-kind K] [--label L] [--min-distinct N]
                  [--max-duplicates M]
                                      what the requester's application saw of the host's
                                      values: distinct values, duplicates, losses; exits 1
                                      when fewer than N distinct values or more than M
                                      duplicates arrived (a check that counts events, not
                                      lines)

EV lines (printed by the lwm2m_c2c module) are `EV <ztimer ms> <kind> ...`; the hosting client
prints `EV <ms> value_produced <path> <seq>` when its sensor makes a value, the requesting
client `EV <ms> notification_rx ...` when a notification arrives. On native64 each node's
ztimer counts from its own start, so the two clocks are put on one axis first: a node's offset
is the smallest (host arrival time - EV time) over its EV lines (arrival is never earlier than
the event; the smallest difference is the tightest bound, off by the pipe latency and the
millisecond truncation). Each notification is paired with the value it carries (`value=<seq>`,
c2c-host's values are their sequence numbers), else the newest value produced before it; pairs further
apart than --max-ms (default: none) are left out, and so is the first notification_rx (the
answer to the Observe request itself). The delays are reported, never asserted.
"""

import re
import statistics
import sys
import time

EV = re.compile(r"^EV (\d+) (\S+)(.*)$")


def tee(raw_path, stamped_path):
    with open(raw_path, "ab", buffering=0) as raw, open(stamped_path, "ab", buffering=0) as st:
        for line in sys.stdin.buffer:
            now = time.monotonic()
            raw.write(line)
            st.write(f"{now:.6f} ".encode() + line)


def events(path):
    """(arrival s, ev ms, kind, rest) for each EV line of a STAMPED log."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            stamp, _, text = line.rstrip("\n").partition(" ")
            m = EV.match(text.strip())
            if not m:
                continue
            try:
                out.append((float(stamp), int(m.group(1)), m.group(2), m.group(3).split()))
            except ValueError:
                continue
    return out


def offset(evs):
    """Host time (s) of the node's ztimer zero."""
    return min(a - ms / 1000.0 for a, ms, _, _ in evs) if evs else None


def same_value(seq, rest):
    """True if a requester line (`rest` fields) carries the host's value `seq` (as a field, as
    `value=<seq>`, or as a float field such as `8.000`, which the baseline's writes carry)."""
    for f in rest:
        f = f[6:] if f.startswith("value=") else f
        if f == seq:
            return True
        try:
            if float(f) == float(seq):
                return True
        except ValueError:
            pass
    return False


def delays(host_path, req_path, max_ms=None, rx_kind="notification_rx", label="delay",
           since=None, until=None):
    """Delay of each reception after the value it carries was produced. `since` / `until`
    (host CLOCK_MONOTONIC seconds, as in the STAMPED logs) keep only receptions that arrived
    in that window, e.g. while one route was set."""
    host, req = events(host_path), events(req_path)
    oh, orq = offset(host), offset(req)
    produced = [(oh + ms / 1000.0, rest) for _, ms, kind, rest in host
                if kind == "value_produced"]
    received = [(a, orq + ms / 1000.0, rest) for a, ms, kind, rest in req
                if kind == rx_kind] if orq is not None else []
    if rx_kind == "notification_rx" and since is None:
        # The first one answers the Observe request (the value current at that time).
        received = received[1:]
    received = [(t, rest) for a, t, rest in received
                if (since is None or a >= since) and (until is None or a <= until)]
    print(f"{label}: {len(produced)} values produced, {len(received)} {rx_kind} received")
    if not produced or not received:
        return []
    out = []
    for t_rx, rest in received:
        before = [(t, r) for t, r in produced if t <= t_rx + 0.002]
        if not before:
            continue
        # Prefer the value whose sequence number (last field) the notification carries (as its
        # value, `value=<seq>`, or as a field of its own).
        by_seq = [(t, r) for t, r in before if r and same_value(r[-1], rest)]
        t_p, r_p = (by_seq or before)[-1]
        d = (t_rx - t_p) * 1000.0
        if max_ms is not None and d > max_ms:
            continue
        out.append(d)
        seq = r_p[-1] if r_p else "?"
        print(f"{label}: value {seq} -> {rx_kind} {d:.1f} ms")
    if out:
        print(f"{label}: n={len(out)} min {min(out):.1f} median {statistics.median(out):.1f} "
              f"mean {statistics.mean(out):.1f} max {max(out):.1f} ms (clock alignment by "
              f"arrival times; reported, not asserted)")
    return out


def value_of(kind, rest):
    """The host sequence number a reception carries (`value=<seq>`, or the baseline's
    `value_rx <path> <seq as thousandths>`), or None."""
    fields = [f[6:] for f in rest if f.startswith("value=")] or rest[-1:]
    for f in fields:
        try:
            v = float(f)
        except ValueError:
            continue
        if v == int(v):
            return int(v)
    return None


def flow(host_path, req_path, rx_kind="notification_rx", label="flow"):
    """Counts per flow: values produced, receptions, distinct values, duplicates (a value
    received again), and losses (values produced between the first and the last value received
    that never arrived; later values may still be in flight and are not counted).
    Returns (distinct, duplicates, lost)."""
    produced = [int(r[-1]) for _, _, kind, r in events(host_path)
                if kind == "value_produced" and r and r[-1].isdigit()]
    got = [value_of(kind, r) for _, _, kind, r in events(req_path) if kind == rx_kind]
    got = [v for v in got if v is not None]
    distinct = set(got)
    dups = len(got) - len(distinct)
    lost = []
    if distinct:
        lo, hi = min(distinct), max(distinct)
        lost = [v for v in produced if lo <= v <= hi and v not in distinct]
    window = f"{min(distinct)}..{max(distinct)}" if distinct else "-"
    print(f"{label}: produced={len(produced)} received={len(got)} distinct={len(distinct)} "
          f"duplicates={dups} lost={len(lost)} (values {window}"
          + (f"; lost {' '.join(map(str, lost[:20]))}" if lost else "") + ")")
    return len(distinct), dups, len(lost)


def options(a, opts):
    """Fills `opts` (flag -> default) from the argument list; None on a flag without value."""
    for k in opts:
        if k in a:
            i = a.index(k)
            if i + 1 >= len(a):
                return None
            opts[k] = a[i + 1]
    return opts


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "tee":
        tee(a[1], a[2])
        return 0
    if len(a) >= 3 and a[0] == "delays":
        opts = options(a, {"--max-ms": None, "--rx-kind": "notification_rx", "--label": "delay",
                           "--since": None, "--until": None})
        if opts is None:
            print(__doc__)
            return 2
        try:
            max_ms, since, until = (None if opts[k] is None else float(opts[k])
                                    for k in ("--max-ms", "--since", "--until"))
        except ValueError:
            print(__doc__)
            return 2
        delays(a[1], a[2], max_ms, opts["--rx-kind"], opts["--label"], since, until)
        return 0
    if len(a) >= 3 and a[0] == "flow":
        opts = options(a, {"--rx-kind": "notification_rx", "--label": "flow",
                           "--min-distinct": "0", "--max-duplicates": None})
        try:
            min_distinct = int(opts["--min-distinct"])
            max_dups = None if opts["--max-duplicates"] is None else int(opts["--max-duplicates"])
        except (TypeError, ValueError):
            print(__doc__)
            return 2
        distinct, dups, _ = flow(a[1], a[2], opts["--rx-kind"], opts["--label"])
        ok = distinct >= min_distinct and (max_dups is None or dups <= max_dups)
        return 0 if ok else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
