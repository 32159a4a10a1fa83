#!/usr/bin/env python3
"""Node output logging and the C2C notification delay from EV lines (tests/riot/c2c.sh).

    evlog.py tee RAW STAMPED          stdin -> RAW (as is) and STAMPED (each line prefixed
                                      with the host's CLOCK_MONOTONIC in seconds)
    evlog.py delays HOST REQUESTER [--max-ms N]
                                      per-notification delay from the two nodes' STAMPED logs

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


def delays(host_path, req_path, max_ms=None):
    host, req = events(host_path), events(req_path)
    oh, orq = offset(host), offset(req)
    produced = [(oh + ms / 1000.0, rest) for _, ms, kind, rest in host
                if kind == "value_produced"]
    received = [(orq + ms / 1000.0, rest) for _, ms, kind, rest in req
                if kind == "notification_rx"] if orq is not None else []
    print(f"delay: {len(produced)} values produced, {len(received)} notifications received")
    # The first one answers the Observe request (the value current at that time), not a change.
    received = received[1:]
    if not produced or not received:
        return []
    out = []
    for t_rx, rest in received:
        before = [(t, r) for t, r in produced if t <= t_rx + 0.002]
        if not before:
            continue
        # Prefer the value whose sequence number (last field) the notification carries (as its
        # value, `value=<seq>`, or as a field of its own).
        by_seq = [(t, r) for t, r in before if r and (r[-1] in rest or f"value={r[-1]}" in rest)]
        t_p, r_p = (by_seq or before)[-1]
        d = (t_rx - t_p) * 1000.0
        if max_ms is not None and d > max_ms:
            continue
        out.append(d)
        seq = r_p[-1] if r_p else "?"
        print(f"delay: value {seq} -> notification {d:.1f} ms")
    if out:
        print(f"delay: n={len(out)} min {min(out):.1f} median {statistics.median(out):.1f} "
              f"mean {statistics.mean(out):.1f} max {max(out):.1f} ms (clock alignment by "
              f"arrival times; reported, not asserted)")
    return out


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "tee":
        tee(a[1], a[2])
        return 0
    if len(a) >= 3 and a[0] == "delays":
        max_ms = None
        if "--max-ms" in a:
            i = a.index("--max-ms")
            try:
                max_ms = float(a[i + 1])
            except (IndexError, ValueError):
                print(__doc__)
                return 2
        delays(a[1], a[2], max_ms)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
