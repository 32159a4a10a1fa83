#!/usr/bin/env python3
"""Flash / RAM footprint of a RIOT firmware per module group, from the link map RIOT writes
beside the ELF (bin/<board>/<app>.map).

    tests/riot/footprint.py apps/sensor-c/bin/iotlab-m3/sensor-c.map [--markdown]

Every input section of the map is attributed to a group by the object it comes from; inside
the Rust object (one LTO unit holding the engine, the driver and their dependencies) by the
crate in the section's (legacy-mangled) symbol name. text / data / bss follow the output
section it lands in, classified like binutils' `size` (read-only allocated: text; writable
with contents: data; no contents: bss) from the ELF's section headers when the ELF is
beside the map, by section name otherwise. The totals row is checked against those sections.

Groups: lwm2m (engine crate), lwm2m_riot (driver crate), rust-deps (core, heapless, minicbor,
riot-wrappers, riot-sys, ... and anonymous Rust constants), c_glue (module lwm2m_c2c's C
files), gcoap/nanocoap, gnrc (GNRC network stack and its netif / 6LoWPAN / IPv6 helpers),
security (OSCORE: lwm2m-oscore, liboscore with its C files and crypto crates; DTLS: the
tinydtls package, sock_dtls, credman; when present), builtins (libgcc, Rust compiler_builtins),
libc (newlib / picolibc / glibc), rest (kernel, drivers, shell, ...), fill (alignment padding).

Build mode, one command for the README's footprint table:

    tests/riot/footprint.py --readme README.md [--board iotlab-m3] [--apps a,b] [--no-build]

builds every application under apps/ for the board (apps that only run on native64 left out),
each into bin/<board>; the delta application (lwm2m-client) also with LWM2M_C2C=none, host and
auth (and auth with LWM2M_OSCORE=1) into bin/<board>-<variant> when the lwm2m_c2c module has
those knobs (reported only for what exists); then rewrites the README between
`<!-- footprint:begin -->` and `<!-- footprint:end -->` with the tables and this command line.
Needs RIOTBASE and the toolchains of a firmware build. --no-build uses the maps already built.
"""

import os
import re
import subprocess
import sys

GROUPS = ["lwm2m", "lwm2m_riot", "rust-deps", "c_glue", "gcoap/nanocoap", "gnrc", "security",
          "builtins", "libc", "rest", "fill"]

# Crates of the OSCORE stack (lwm2m-oscore, liboscore and its RustCrypto backend).
SECURITY_CRATES = {"lwm2m_oscore", "liboscore", "liboscore_cryptobackend", "liboscore_msgbackend",
                   "aes", "ccm", "ctr", "cipher", "hkdf", "hmac", "sha2", "digest", "aead",
                   "crypto_common", "block_buffer", "inout", "subtle", "zeroize"}
# liboscore's C files, which its build script compiles into the Rust staticlib.
OSCORE_C_OBJ = re.compile(r"-(contextpair|oscore_message|protection|context_primitive|context_b1)"
                          r"\.o$")

GNRC_DIRS = re.compile(
    r"^(gnrc.*|sixlowpan.*|netif|netutils|ipv6_.*|icmpv6|udp|ieee802154.*|l2util|inet_csum|netdev_ieee802154"
    r".*|netopt|iolist|ztimer_xtimer_compat|evtimer.*)$")
GCOAP_DIRS = re.compile(r"^(gcoap.*|nanocoap.*|sock_util)$")
TINYDTLS_DIRS = re.compile(r"^(tinydtls.*|sock_dtls|dtls.*|credman.*)$")
LIBC = re.compile(r"/(libc(_nano)?|libm|libg(_nano)?|libnosys|libpicolibc|libc_nonshared)\.a\(|"
                  r"/libc\.so|/libc[-.]|/libm[-.]")
BUILTINS = re.compile(r"/libgcc(_s)?\.a\(|/libgcc|compiler_builtins")
RUST_OBJ = re.compile(r"/lwm2m_c2c/rust/")
CRATE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.\.")


def crate_of(section):
    """Crate of the symbol an input section of the Rust object holds, if it can be told."""
    name = section.split(".", 2)[-1] if section.count(".") >= 2 else ""
    if not name.startswith("_ZN"):
        # Unmangled: #[no_mangle] functions and statics of the driver's C ABI.
        if name.startswith(("lwm2m_riot_", "lwm2m_c2c_")):
            return "lwm2m_riot"
        return None
    m = re.match(r"_ZN(\d+)", name)
    if not m:
        return None
    n = int(m.group(1))
    first = name[m.end():m.end() + n]
    if first.startswith("_$LT$") or first.startswith("$LT$"):
        # <Type as Trait>::method: the crate of the type's path, else of the trait's.
        c = CRATE.search(first.replace("$LT$", " ").replace("$GT$", " ").replace("$u20$", " ")
                         .replace("$RF$", " ").replace("$BP$", " "))
        return c.group(1) if c else None
    return first


def group_of(path, section):
    norm = path.replace("\\", "/")
    if BUILTINS.search(norm):
        return "builtins"
    if LIBC.search(norm):
        return "libc"
    if RUST_OBJ.search(norm):
        if OSCORE_C_OBJ.search(norm):
            return "security"
        crate = crate_of(section)
        if crate == "lwm2m":
            return "lwm2m"
        if crate == "lwm2m_riot":
            return "lwm2m_riot"
        if crate == "compiler_builtins":
            return "builtins"
        if crate in SECURITY_CRATES:
            return "security"
        return "rust-deps"
    parts = norm.split("/")
    # RIOT objects: .../bin/<board>/<module>/<file>.o (or <module>.a(<file>.o) archives).
    module = None
    if len(parts) >= 2 and parts[-1].endswith(".o"):
        module = parts[-2]
    am = re.search(r"/([^/]+)\.a\(", norm)
    if am:
        module = am.group(1)
    if module is None:
        return "rest"
    if module == "lwm2m_c2c":
        return "c_glue"
    if GCOAP_DIRS.match(module):
        return "gcoap/nanocoap"
    if TINYDTLS_DIRS.match(module):
        return "security"
    if GNRC_DIRS.match(module):
        return "gnrc"
    return "rest"


def section_kinds(elf):
    """Output section name -> text / data / bss, from the ELF's section headers."""
    kinds = {}
    try:
        out = subprocess.run(["readelf", "-SW", elf], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+"
                     r"[0-9a-f]+\s+([A-Z]*)", line)
        if not m:
            continue
        name, typ, addr, flags = m.groups()
        # Keyed by address too: a linker script may emit two output sections of one name
        # (native's .rodata).
        name = (name, int(addr, 16))
        if "A" not in flags:
            continue
        if typ == "NOBITS":
            kinds[name] = "bss"
        elif "W" in flags:
            kinds[name] = "data"
        else:
            kinds[name] = "text"
    return kinds


def kind_by_name(out_section):
    if out_section.startswith((".bss", ".noinit", ".stack", ".heap", ".tbss")):
        return "bss"
    if out_section.startswith((".data", ".relocate", ".tdata", ".got", ".init_array",
                               ".fini_array")):
        return "data"
    return "text"


def parse(map_path, kinds):
    sums = {g: {"text": 0, "data": 0, "bss": 0} for g in GROUPS}
    per_out = {}
    out_sec = None
    out_addr = None
    pending = None  # input section name waiting for its address line
    entries = []
    started = False
    with open(map_path, errors="replace") as f:
        for line in f:
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            if line.startswith("/DISCARD/"):
                out_sec = None
                continue
            m = re.match(r"^(\.[^\s]+|[A-Za-z_][^\s]*)(\s+0x([0-9a-f]+)\s+0x[0-9a-f]+)?", line)
            if m and not line[0].isspace():
                out_sec = m.group(1)
                out_addr = int(m.group(3), 16) if m.group(3) else None
                pending = None
                continue
            if m is None and out_sec is not None and out_addr is None:
                m = re.match(r"^\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s*$", line)
                if m:
                    out_addr = int(m.group(1), 16)
                    continue
            if out_sec is None:
                continue
            if kinds is None:
                kind = kind_by_name(out_sec)
            else:
                kind = kinds.get((out_sec, out_addr))
                if kind is None:
                    kind = next((k for (n, _), k in kinds.items() if n == out_sec), None)
            if kind is None:
                continue  # not allocated (debug info, comments)
            m = re.match(r"^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", line)
            if m:
                entries.append((out_sec, kind, int(m.group(1), 16), int(m.group(2), 16), "fill"))
                continue
            m = re.match(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m:
                sec, addr, size, obj = (m.group(1), int(m.group(2), 16), int(m.group(3), 16),
                                        m.group(4).strip())
            else:
                m2 = re.match(r"^ (\S+)\s*$", line)
                if m2 and not m2.group(1).startswith("*"):
                    pending = m2.group(1)
                    continue
                m3 = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
                if not (m3 and pending):
                    pending = None
                    continue
                sec, addr, size, obj = (pending, int(m3.group(1), 16), int(m3.group(2), 16),
                                        m3.group(3).strip())
            pending = None
            if size == 0 or sec.startswith("*("):
                continue
            entries.append((out_sec, kind, addr, size, group_of(obj, sec)))
    # Merged string sections (.rodata.*.str1.1) are listed with their sizes before merging and
    # overlap: count every byte once, for the first section covering it.
    entries.sort(key=lambda e: (e[0], e[2]))
    end = {}
    for out_sec, kind, addr, size, group in entries:
        start = max(addr, end.get(out_sec, addr))
        n = max(0, addr + size - start)
        end[out_sec] = max(end.get(out_sec, 0), addr + size)
        sums[group][kind] += n
        per_out[out_sec] = per_out.get(out_sec, 0) + n
    return sums, per_out


def elf_sizes(elf):
    for tool in ("arm-none-eabi-size", "size"):
        try:
            out = subprocess.run([tool, elf], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        vals = out.splitlines()[1].split()
        return tuple(int(v) for v in vals[:3])
    return None


ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Applications that only build for native64 (border router with tap + ZEP).
NATIVE_ONLY = {"border-router"}
DELTA_APP = "lwm2m-client"
BEGIN, END = "<!-- footprint:begin -->", "<!-- footprint:end -->"
# Columns of the README table: (title, groups of the link-map split).
COLUMNS = [("engine", ["lwm2m"]), ("driver", ["lwm2m_riot", "c_glue"]),
           ("Rust deps", ["rust-deps"]), ("security", ["security"]),
           ("gcoap", ["gcoap/nanocoap"]), ("GNRC", ["gnrc"]), ("RIOT core", ["rest", "fill"]),
           ("libc + builtins", ["libc", "builtins"])]


def module_knobs():
    """Which of the lwm2m_c2c module's knobs this checkout has (LWM2M_C2C, LWM2M_OSCORE and
    those of FEATURE_KNOBS)."""
    text = ""
    mod = os.path.join(ROOT, "c_glue", "lwm2m_c2c")
    for name in ("Makefile.include", "Makefile", "Makefile.dep"):
        try:
            with open(os.path.join(mod, name)) as f:
                text += f.read()
        except OSError:
            pass
    return {k: re.search(r"^\s*%s\s*\?=" % k, text, re.M) is not None
            for k in ("LWM2M_C2C", "LWM2M_OSCORE") + tuple(k for k, _ in FEATURE_KNOBS)}


# Deployment features measured one at a time on the delta application (a knob the checkout
# lacks is left out): (knob, make variables).
FEATURE_KNOBS = [
    ("LWM2M_SEND", ["LWM2M_SEND=1"]),
    ("LWM2M_QUEUE_MODE", ["LWM2M_QUEUE_MODE=1"]),
    ("LWM2M_FOTA", ["LWM2M_FOTA=riotboot"]),
    ("LWM2M_FOTA_PULL", ["LWM2M_FOTA=riotboot", "LWM2M_FOTA_PULL=1"]),
]


def variants(apps, knobs):
    """(app, label, make variables, bin dir name) of every firmware to measure."""
    out = [(a, "default", [], None) for a in apps]
    if DELTA_APP in apps and knobs["LWM2M_C2C"]:
        for k in ("none", "host", "auth"):
            out.append((DELTA_APP, f"LWM2M_C2C={k}", [f"LWM2M_C2C={k}"], f"c2c-{k}"))
        if knobs["LWM2M_OSCORE"]:
            out.append((DELTA_APP, "LWM2M_C2C=auth LWM2M_OSCORE=1",
                        ["LWM2M_C2C=auth", "LWM2M_OSCORE=1"], "c2c-auth-oscore"))
        for knob, make_vars in FEATURE_KNOBS:
            if knobs.get(knob):
                out.append((DELTA_APP, " ".join(make_vars), ["LWM2M_C2C=none"] + make_vars,
                            "feature-" + knob[6:].lower().replace("_", "-")))
    return out


def build(app, board, make_vars, bindir, jobs):
    log = os.path.join(bindir + ".build.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    cmd = ["make", "-C", os.path.join(ROOT, "apps", app), f"BOARD={board}", f"BINDIR={bindir}",
           f"-j{jobs}", "all"] + make_vars
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        with open(log, errors="replace") as f:
            tail = f.readlines()[-15:]
        print(f"build of {app} {' '.join(make_vars)} failed:\n" + "".join(tail), file=sys.stderr)
        return False
    return True


def measure(map_path):
    elf = os.path.splitext(map_path)[0] + ".elf"
    kinds = section_kinds(elf) if os.path.exists(elf) else None
    sums, _ = parse(map_path, kinds)
    total = {k: sum(sums[g][k] for g in GROUPS) for k in ("text", "data", "bss")}
    sizes = elf_sizes(elf) if os.path.exists(elf) else None
    if sizes and sizes != (total["text"], total["data"], total["bss"]):
        print(f"warning: {map_path}: split {total} differs from size {sizes}", file=sys.stderr)
    return sums, total


def rom(d):
    return d["text"] + d["data"]


def ram(d):
    return d["data"] + d["bss"]


def pct(a, b):
    return f"{100.0 * a / b:+.1f} %" if b else "-"


def render(results, knobs, board, cmdline, riot, rustc):
    lines = [f"Made by `{cmdline}` (RIOT {riot}, BOARD={board}, the apps' defaults incl. "
             f"DEVELHELP=1, {rustc}). Bytes; ROM = text + data, RAM = data + bss, per group "
             "from the link map (`tests/riot/footprint.py <map>` shows text / data / bss). "
             "Driver = the Rust driver crate and the module's C glue (with its thread stack); "
             "security = OSCORE / DTLS code; RIOT core = kernel, drivers, shell and the rest.",
             "",
             "| firmware | ROM | RAM | " + " | ".join(t for t, _ in COLUMNS) + " |",
             "|---|---:|---:|" + "---:|" * len(COLUMNS)]
    for (app, label), r in results.items():
        if r is None:
            lines.append(f"| {app} {'' if label == 'default' else label} | build failed |" +
                         " |" * (len(COLUMNS) + 1))
            continue
        sums, total = r
        cells = []
        for _, groups in COLUMNS:
            g = {k: sum(sums[x][k] for x in groups) for k in ("text", "data", "bss")}
            cells.append(f"{rom(g)} / {ram(g)}")
        name = app if label == "default" else f"{app} `{label}`"
        lines.append(f"| {name} | {rom(total)} | {ram(total)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Group cells: ROM / RAM.")
    lines.append("")
    if not knobs["LWM2M_C2C"]:
        lines.append("C2C and authorization deltas: not measured; the `lwm2m_c2c` module in this "
                     "checkout has no `LWM2M_C2C` knob yet (the script builds "
                     f"`{DELTA_APP}` with `LWM2M_C2C=none|host|auth` once it has).")
        return lines
    base = results.get((DELTA_APP, "LWM2M_C2C=none"))
    host = results.get((DELTA_APP, "LWM2M_C2C=host"))
    auth = results.get((DELTA_APP, "LWM2M_C2C=auth"))
    lines += [f"C2C and authorization cost: `{DELTA_APP}` built with `LWM2M_C2C=none|host|auth` "
              "(engine features `c2c` and `c2c-auth`), deltas as a share of the `none` image "
              "like the paper's Figure 4a (there: C2C +3.3 % ROM, +0.9 % RAM; Auth another "
              "+5.0 % ROM, no RAM, on Wakaama, about 125 KiB ROM / 31 KiB RAM in total).",
              "",
              "| step | ROM | RAM | engine ROM | delta ROM | delta RAM | paper (Fig. 4a) |",
              "|---|---:|---:|---:|---:|---:|---|"]
    if base is None:
        lines.append("| none | build failed | | | | | |")
        return lines
    b_tot = base[1]
    prev = base
    for name, r, paper in (("none", base, "baseline"), ("host (C2C)", host, "+3.3 % / +0.9 %"),
                           ("auth (C2C + Auth)", auth, "+5.0 % / 0 %")):
        if r is None:
            lines.append(f"| {name} | build failed | | | | | {paper} |")
            continue
        t = r[1]
        eng = rom(r[0]["lwm2m"])
        if r is base:
            lines.append(f"| {name} | {rom(t)} | {ram(t)} | {eng} | - | - | {paper} |")
        else:
            p = prev[1]
            dr, dm = rom(t) - rom(p), ram(t) - ram(p)
            lines.append(f"| {name} | {rom(t)} | {ram(t)} | {eng} | +{dr} ({pct(dr, rom(b_tot))})"
                         f" | {dm:+d} ({pct(dm, ram(b_tot))}) | {paper} |")
            prev = r
    lines.append("")
    lines.append("Each delta is over the row above, in percent of the `none` image.")
    feats = [(" ".join(v), results.get((DELTA_APP, " ".join(v)))) for k, v in FEATURE_KNOBS
             if knobs.get(k)]
    if feats:
        lines += ["",
                  f"Deployment features: `{DELTA_APP}` built with `LWM2M_C2C=none` and one knob "
                  "each; deltas over the `none` image.",
                  "",
                  "| knob | ROM | RAM | engine ROM | driver + glue ROM | delta ROM | delta RAM |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for label, r in feats:
            if r is None:
                lines.append(f"| `{label}` | build failed | | | | | |")
                continue
            t = r[1]
            drv = rom(r[0]["lwm2m_riot"]) + rom(r[0]["c_glue"])
            dr, dm = rom(t) - rom(b_tot), ram(t) - ram(b_tot)
            lines.append(f"| `{label}` | {rom(t)} | {ram(t)} | {rom(r[0]['lwm2m'])} | {drv} | "
                         f"{dr:+d} ({pct(dr, rom(b_tot))}) | {dm:+d} ({pct(dm, ram(b_tot))}) |")
    return lines


def rewrite_readme(path, lines):
    with open(path) as f:
        text = f.read()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        print(f"{path}: markers {BEGIN} / {END} not found", file=sys.stderr)
        return False
    new = text[:a + len(BEGIN)] + "\n" + "\n".join(lines) + "\n" + text[b:]
    with open(path, "w") as f:
        f.write(new)
    return True


def build_mode(argv):
    opts = {"--board": "iotlab-m3", "--apps": None, "--readme": None, "--jobs": str(os.cpu_count() or 1)}
    no_build = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--no-build":
            no_build = True
        elif a in opts and i + 1 < len(argv):
            opts[a] = argv[i + 1]
            i += 1
        else:
            print(__doc__)
            return 2
        i += 1
    board = opts["--board"]
    if not no_build and not os.environ.get("RIOTBASE"):
        print("RIOTBASE is not set (a RIOT 2026.07 checkout)", file=sys.stderr)
        return 2
    apps_dir = os.path.join(ROOT, "apps")
    if opts["--apps"]:
        apps = opts["--apps"].split(",")
    else:
        apps = sorted(a for a in os.listdir(apps_dir)
                      if os.path.isfile(os.path.join(apps_dir, a, "Makefile"))
                      and a not in NATIVE_ONLY)
    knobs = module_knobs()
    print("module knobs: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in knobs.items()))
    results = {}
    failed = 0
    for app, label, make_vars, suffix in variants(apps, knobs):
        bindir = os.path.join(apps_dir, app, "bin", board + (f"-{suffix}" if suffix else ""))
        print(f"== {app} {label}", flush=True)
        if not no_build and not build(app, board, make_vars, bindir, opts["--jobs"]):
            results[(app, label)] = None
            failed += 1
            continue
        map_path = os.path.join(bindir, app + ".map")
        if not os.path.exists(map_path):
            print(f"{map_path}: missing", file=sys.stderr)
            results[(app, label)] = None
            failed += 1
            continue
        results[(app, label)] = measure(map_path)
    riot = "?"
    if os.environ.get("RIOTBASE"):
        try:
            riot = subprocess.run(["git", "-C", os.environ["RIOTBASE"], "describe", "--tags",
                                   "--always"], capture_output=True, text=True,
                                  check=True).stdout.strip() or "?"
        except (OSError, subprocess.CalledProcessError):
            pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True,
                               check=True).stdout.split("(")[0].strip()
    except (OSError, subprocess.CalledProcessError):
        rustc = "rustc ?"
    # The command line as run from the checkout's root (no machine paths).
    shown = ["python3", "tests/riot/footprint.py"]
    for a in argv:
        shown.append(os.path.relpath(a, ROOT) if os.path.exists(a) else a)
    lines = render(results, knobs, board, " ".join(shown), riot, rustc)
    print("\n".join(lines))
    if opts["--readme"] and not rewrite_readme(opts["--readme"], lines):
        return 1
    return 1 if failed else 0


def main():
    if any(a in ("--readme", "--apps", "--board", "--no-build") for a in sys.argv[1:]):
        return build_mode(sys.argv[1:])
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    if len(args) != 1:
        print(__doc__)
        return 2
    map_path = args[0]
    elf = os.path.splitext(map_path)[0] + ".elf"
    kinds = section_kinds(elf) if os.path.exists(elf) else None
    sums, _ = parse(map_path, kinds)
    rows = [(g, sums[g]["text"], sums[g]["data"], sums[g]["bss"]) for g in GROUPS]
    total = tuple(sum(r[i] for r in rows) for i in (1, 2, 3))
    name = os.path.basename(map_path)
    if markdown:
        print(f"| {name} | text | data | bss |")
        print("|---|---:|---:|---:|")
        for g, t, d, b in rows:
            print(f"| {g} | {t} | {d} | {b} |")
        print(f"| **total** | {total[0]} | {total[1]} | {total[2]} |")
    else:
        print(f"{name:<16} {'text':>8} {'data':>7} {'bss':>7}")
        for g, t, d, b in rows:
            print(f"{g:<16} {t:>8} {d:>7} {b:>7}")
        print(f"{'total':<16} {total[0]:>8} {total[1]:>7} {total[2]:>7}")
    sizes = elf_sizes(elf) if os.path.exists(elf) else None
    if sizes:
        note = "matches" if sizes == total else "differs from"
        print(f"(size {os.path.basename(elf)}: text {sizes[0]} data {sizes[1]} bss {sizes[2]}; "
              f"the table {note} it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
