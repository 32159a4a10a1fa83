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
tinydtls (package and sock_dtls, when present), builtins (libgcc, Rust compiler_builtins),
libc (newlib / picolibc / glibc), rest (kernel, drivers, shell, ...), fill (alignment padding).
"""

import os
import re
import subprocess
import sys

GROUPS = ["lwm2m", "lwm2m_riot", "rust-deps", "c_glue", "gcoap/nanocoap", "gnrc", "tinydtls",
          "builtins", "libc", "rest", "fill"]

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
        crate = crate_of(section)
        if crate == "lwm2m":
            return "lwm2m"
        if crate == "lwm2m_riot":
            return "lwm2m_riot"
        if crate == "compiler_builtins":
            return "builtins"
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
        return "tinydtls"
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


def main():
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
