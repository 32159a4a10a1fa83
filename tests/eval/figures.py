"""PNG figures shaped like the paper's (section 6), from the measures of metrics.py.

matplotlib with the Agg backend (no display). Each function writes one PNG and returns its
path, or None when the runs hold nothing for that figure.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import metrics  # noqa: E402

DEP_LABEL = {"c2c": "C2C", "server": "server-centric"}
COLORS = {"c2c-oscore": "tab:blue", "c2c-dtls": "tab:green", "server-nosec": "tab:red"}


def _series(m):
    return f"{m['deployment']}-{m['security']}"


def _label(series):
    dep, sec = series.split("-", 1)
    return DEP_LABEL[dep] + ("" if dep == "server" else f" ({sec.upper()})")


def _save(fig, path, backend):
    fig.text(0.99, 0.01, f"backend: {backend}", ha="right", va="bottom", fontsize=7,
             color="gray")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _boxes(ax, groups, xs, order):
    """Grouped box plots: groups[(series, x)] = values."""
    width = 0.8 / max(len(order), 1)
    for k, s in enumerate(order):
        pos = [i + (k - (len(order) - 1) / 2) * width for i in range(len(xs))]
        data = [groups.get((s, x), []) for x in xs]
        keep = [(p, d) for p, d in zip(pos, data) if d]
        if not keep:
            continue
        bp = ax.boxplot([d for _, d in keep], positions=[p for p, _ in keep],
                        widths=width * 0.9, patch_artist=True, showfliers=True,
                        flierprops={"markersize": 2})
        for b in bp["boxes"]:
            b.set_facecolor(COLORS.get(s, "gray"))
            b.set_alpha(0.6)
        ax.plot([], [], color=COLORS.get(s, "gray"), lw=6, alpha=0.6, label=_label(s))
    ax.set_xticks(range(len(xs)))


def fig7a(ms, path, backend):
    """Notification delay per number of forwarders (box plots per deployment), from the runs
    at the longest update interval (an experiment may vary the interval for Fig. 8 too)."""
    obs = [m for m in ms if m.get("delays_ms") and m["topology"].startswith("f")]
    if not obs:
        return None
    longest = max(m["interval_ms"] for m in obs)
    obs = [m for m in obs if m["interval_ms"] == longest]
    fwd = sorted({m["forwarders"] for m in obs})
    order = sorted({_series(m) for m in obs})
    groups = {}
    for m in obs:
        groups.setdefault((_series(m), m["forwarders"]), []).extend(m["delays_ms"])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    _boxes(ax, groups, fwd, order)
    ax.set_xticklabels([str(f) for f in fwd])
    ax.set_xlabel("forwarders between the clients and the gateway")
    ax.set_ylabel("notification delay [ms]")
    ax.set_title(f"Fig. 7a: value produced -> received ({longest} ms interval)")
    ax.legend(fontsize=8)
    return _save(fig, path, backend)


def fig7b(ms, path, backend):
    """CDF of authorization + first C2C read, per transport (staircases show CoAP
    retransmissions)."""
    au = [m for m in ms if m.get("mode") == "auth"]
    if not au:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for sec in ("dtls", "oscore"):
        for key, style in (("total_ms", "-"), ("distribution_ms", ":")):
            pts = metrics.cdf(m.get(key) for m in au if m["security"] == sec)
            if not pts:
                continue
            xs, ys = [x / 1000.0 for x, _ in pts], [y for _, y in pts]
            what = "authorization + first read" if key == "total_ms" else "distribution only"
            ax.step([0] + xs, [0] + ys, where="post", ls=style,
                    color=COLORS[f"c2c-{sec}"], label=f"{sec.upper()}: {what} (n={len(xs)})")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("CDF")
    ax.set_ylim(0, 1.02)
    ax.set_title("Fig. 7b: credential distribution and first C2C read")
    ax.legend(fontsize=7)
    return _save(fig, path, backend)


def fig8(ms, path, backend):
    """Goodput per update interval (box plots, link optimum dashed) and the delivery rate."""
    obs = [m for m in ms if m.get("goodput_Bps") is not None]
    if not obs:
        return None
    ivs = sorted({m["interval_ms"] for m in obs}, reverse=True)
    order = sorted({_series(m) for m in obs})
    groups, rate = {}, {}
    for m in obs:
        groups.setdefault((_series(m), m["interval_ms"]), []).append(m["goodput_Bps"])
        rate.setdefault((_series(m), m["interval_ms"]), []).append(m["delivery_rate"])
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6.4, 5.4), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 2]})
    _boxes(ax, groups, ivs, order)
    opt = {m["interval_ms"]: m["optimum_Bps"] for m in obs}
    ax.plot(range(len(ivs)), [opt[i] for i in ivs], "k--", lw=1, label="link optimum")
    ax.set_yscale("log")
    ax.set_ylabel("goodput [B/s]")
    ax.set_title(f"Fig. 8: goodput and delivery rate ({obs[0]['bitrate_kbps']} kbit/s)")
    ax.legend(fontsize=7)
    for s in order:
        pts = [(k, sum(rate[(s, iv)]) / len(rate[(s, iv)])) for k, iv in enumerate(ivs)
               if (s, iv) in rate]
        ax2.plot([k for k, _ in pts], [100 * r for _, r in pts],
                 "s--" if s.startswith("server") else "o-", markerfacecolor="none",
                 color=COLORS.get(s, "gray"), label=_label(s))
    ax2.set_ylabel("delivered [%]")
    ax2.legend(fontsize=7)
    ax2.set_ylim(0, 105)
    ax2.set_xticks(range(len(ivs)))
    ax2.set_xticklabels([str(i) for i in ivs])
    ax2.set_xlabel("update interval [ms]")
    return _save(fig, path, backend)


def fig10(ms, path, backend):
    """Notification delay per random topology (hop counts in the labels)."""
    obs = [m for m in ms if m.get("delays_ms") and not m["topology"].startswith("f")]
    if not obs:
        return None
    topos = sorted({m["topology"] for m in obs})
    hops = {m["topology"]: m["hops"] for m in obs}
    order = sorted({_series(m) for m in obs})
    groups = {}
    for m in obs:
        groups.setdefault((_series(m), m["topology"]), []).extend(m["delays_ms"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    _boxes(ax, groups, topos, order)
    ax.set_xticklabels([f"{t}\nH-R {hops[t]['host-requester']}, H-S {hops[t]['host-server']}, "
                        f"R-S {hops[t]['requester-server']}" for t in topos], fontsize=7)
    ax.set_ylabel("notification delay [ms]")
    ax.set_title("Fig. 10: random 20-node topologies (hops host-requester, -server)")
    ax.legend(fontsize=7)
    return _save(fig, path, backend)


def fig9(ms, path, backend):
    """Radio-on time per node kind and forwarder count: a PROXY for the energy of Fig. 9."""
    obs = [m for m in ms if m.get("radio_ms") and m["topology"].startswith("f")]
    if not obs:
        return None
    fwd = sorted({m["forwarders"] for m in obs})
    order = sorted({_series(m) for m in obs})
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8, 3.8))
    width = 0.8 / len(order)
    for k, s in enumerate(order):
        tot = []
        for f in fwd:
            rs = [m for m in obs if _series(m) == s and m["forwarders"] == f]
            tot.append(sum(sum(tx + rx for n, (tx, rx) in m["radio_ms"].items() if n != "gw")
                           for m in rs) / max(len(rs), 1) / 1000.0)
        ax.bar([i + (k - (len(order) - 1) / 2) * width for i in range(len(fwd))], tot, width,
               color=COLORS.get(s, "gray"), label=_label(s))
    ax.set_xticks(range(len(fwd)))
    ax.set_xticklabels([str(f) for f in fwd])
    ax.set_xlabel("forwarders")
    ax.set_ylabel("TX+RX time, all but the gateway [s]")
    ax.legend(fontsize=7)
    kinds = {"end node": [], "forwarder": []}
    for m in obs:
        for n, (tx, rx) in m["radio_ms"].items():
            if n in ("host", "requester"):
                kinds["end node"].append(tx + rx)
            elif n.startswith("f"):
                kinds["forwarder"].append(tx + rx)
    ks = [k for k, v in kinds.items() if v]
    ax2.bar(ks, [sum(kinds[k]) / len(kinds[k]) for k in ks], color="gray")
    ax2.set_ylabel("TX+RX time per node and run [ms]")
    ax.set_title("Fig. 9 PROXY: radio-on time (emulated medium),", fontsize=9)
    ax2.set_title("not measured energy", fontsize=9)
    return _save(fig, path, backend)


ALL = {"7a": fig7a, "7b": fig7b, "8": fig8, "9": fig9, "10": fig10}
