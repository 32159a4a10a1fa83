#!/usr/bin/env python3
"""Where the flash bytes of the size probe go: symbols grouped by module, summing to `text`.

Usage: breakdown.py [--json] [--save FILE] [--compare FILE] [--symbols GROUP] LABEL=ELF ...

Prints one column per ELF and one row per group (coap, codec/<format>, engine/<op>,
objects/<object>, c2c/<part>, float/text, float/binary32, float/builtins, int builtins, mem*,
core, outlined, probe, rodata/..., padding). `text` is what `elf_size.py` and GNU `size` call text: every allocated,
non-writable section (.text and .rodata here).

How every byte is counted, so that the rows sum to `text` exactly:
- a named symbol (`arm-none-eabi-nm -S -C`) counts to the group of its demangled path; with
  LTO, code inlined into a function counts under that function;
- an anonymous constant (`.Lanon.*`: string literals, tables, resource names) counts to the
  group of the code or data that refers to it, found through the relocations the linker keeps
  (`--emit-relocs`, set in `.cargo/config.toml`; allocated sections are unchanged by it). One
  referred to by several groups counts to the group with most references; one referred to by
  nothing named is `rodata/unreferenced`;
- bytes covered by no symbol (alignment, literal pools outside symbols) are `padding`.

`--save` writes the figures as JSON, `--compare` prints the difference to a saved file,
`--symbols GROUP` lists the symbols of one group (e.g. `engine/mod.rs`) by size.
Needs python3 and binutils-arm-none-eabi (`arm-none-eabi-nm`, `arm-none-eabi-readelf`).
"""
import bisect
import json
import re
import struct
import subprocess
import sys
from collections import Counter, defaultdict

SHF_WRITE, SHF_ALLOC = 0x1, 0x2
SHT_NOBITS, SHT_REL = 8, 9
R_ARM_ABS32, R_ARM_THM_MOVW_ABS_NC, R_ARM_THM_MOVT_ABS = 2, 47, 48

# The engine's modules whose submodules get a row of their own.
SPLIT = {"codec", "engine", "objects", "c2c", "coap"}
# The float text routines (`codec::float`; before it, part of `codec::text`).
FLOAT_TEXT = {"write_f64", "parse_f64", "mul_pow10", "from_parts", "round_digits",
              "div_shifted", "reads_back", "ldexp", "split"}


def sections(data):
    """Section headers of a 32-bit little-endian ELF."""
    if data[:4] != b"\x7fELF" or data[4] != 1:
        raise SystemExit("not a 32-bit ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    raw = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    out = []
    for s in raw:
        off = strtab[4] + s[0]
        out.append(dict(name=data[off:data.index(b"\0", off)].decode(), type=s[1], flags=s[2],
                        addr=s[3], offset=s[4], size=s[5], link=s[6], info=s[7]))
    return out


def thumb_imm16(data, off):
    """The 16-bit immediate of a Thumb-2 MOVW / MOVT at file offset `off`."""
    hw1, hw2 = struct.unpack_from("<HH", data, off)
    return (hw1 & 0xF) << 12 | (hw1 >> 10 & 1) << 11 | (hw2 >> 12 & 7) << 8 | (hw2 & 0xFF)


def references(data, secs):
    """(from address, to address) for every absolute address in the allocated sections."""
    refs = []
    for rel in secs:
        if rel["type"] != SHT_REL:
            continue
        target = secs[rel["info"]]
        if not target["flags"] & SHF_ALLOC:
            continue
        lows = {}
        for i in range(rel["size"] // 8):
            r_off, r_info = struct.unpack_from("<II", data, rel["offset"] + i * 8)
            kind, sym = r_info & 0xFF, r_info >> 8
            at = target["offset"] + r_off - target["addr"]
            if kind == R_ARM_ABS32:  # the word holds the address
                refs.append((r_off, struct.unpack_from("<I", data, at)[0]))
            elif kind == R_ARM_THM_MOVW_ABS_NC:  # low half, wait for its MOVT
                lows[sym] = (r_off, thumb_imm16(data, at))
            elif kind == R_ARM_THM_MOVT_ABS and sym in lows:  # high half
                r_low, low = lows.pop(sym)
                refs.append((r_low, thumb_imm16(data, at) << 16 | low))
    return refs


def symbols(path):
    """(address, size, demangled name) of every defined, sized symbol."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-C", "-n", "--defined-only", path],
                         check=True, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTrRdDbB":
            syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return syms


def owner_path(name):
    """The module path a demangled symbol belongs to, without types and functions:
    `<m::T as Trait>::f` and `m::T::f` are m's, `m::<impl T>::f` is m's."""
    if name.startswith("<"):
        depth, i = 0, 0
        for i, c in enumerate(name):
            depth += {"<": 1, ">": -1}.get(c, 0)
            if depth == 1 and name.startswith(" as ", i) or depth == 0:
                break
        owner = name[1:i].removeprefix("dyn ")
        if "::" not in owner:
            return ["core"]  # methods of primitive types: `<[u8]>::eq_ignore_ascii_case`
        path = re.sub(r"<.*", "", owner).split("::")
    elif "::<impl" in name:
        path = name.split("::<impl", 1)[0].split("::")
    else:
        path = [p for p in re.sub(r"<.*", "", name).split("::") if p != "{{closure}}"]
        path = path[:-1] or path
    while len(path) > 1 and path[-1][:1].isupper():
        path = path[:-1]
    return path


def group_of(name):
    """The breakdown row of a demangled symbol name."""
    if name.startswith("OUTLINED_FUNCTION_"):
        return "outlined"  # code the machine outliner (opt-level z) shares between functions
    if name in ("memcpy", "memmove", "memset", "memcmp", "bcmp") or name.startswith("__aeabi_mem"):
        return "mem*"
    path = owner_path(name)
    last = name.rsplit("::", 1)[-1]
    if path[0] == "compiler_builtins":
        if len(path) > 1 and path[1] == "mem":
            return "mem*"
        return "float/builtins" if len(path) > 1 and path[1] == "float" else "int builtins"
    if name.startswith("__aeabi_"):
        # Integer helpers are the divisions, long multiplies, shifts and compares; the rest
        # (`__aeabi_dadd`, `__aeabi_l2d`, `__aeabi_dcmplt`, ...) are soft-float.
        op = name[len("__aeabi_"):]
        int_op = re.fullmatch(r"u?(i|l)divmod|u?idiv|lmul|ll?s[lr]|lasr|u?lcmp", op)
        return "int builtins" if int_op else "float/builtins"
    if name.startswith("__"):
        return "float/builtins" if re.search(r"[sd]f[0-9]", name) else "int builtins"
    if path[0] == "lwm2m":
        mods = path[1:]
        if not mods:
            return "lwm2m/other"
        if mods[:2] == ["codec", "float"] or mods[:2] == ["codec", "text"] and last in FLOAT_TEXT:
            return "float/text"
        if mods[:2] == ["codec", "binary32"]:
            return "float/binary32"
        if mods[0] == "engine" and len(mods) > 1 and mods[1] in ("c2c", "c2c_auth"):
            return "c2c/engine" if mods[1] == "c2c" else "c2c/auth"
        if mods[0] == "objects" and len(mods) > 1 and mods[1] in (
                "client", "client_security", "client_access_control", "oscore"):
            return "c2c/objects/" + mods[1]
        if mods[0] in SPLIT:
            return mods[0] + "/" + (mods[1] if len(mods) > 1 else "mod.rs")
        return "lwm2m/" + mods[0]
    if path[0] in ("core", "heapless"):
        return path[0]
    if path[0] in ("reset", "LWM2M_ENGINE_STATE_SIZE", "panic"):
        return "probe"
    return "other"


def breakdown(path, members=None):
    """{group: bytes} for one ELF; the values sum to its text size. With `members` (a dict),
    also fills it with {group: [(bytes, symbol), ...]}."""
    data = open(path, "rb").read()
    secs = sections(data)
    text_secs = [s for s in secs if s["flags"] & SHF_ALLOC and not s["flags"] & SHF_WRITE
                 and s["type"] != SHT_NOBITS]
    total = sum(s["size"] for s in text_secs)
    # Symbol ranges inside text sections, aliases and overlaps counted once.
    ranges = []
    for addr, size, name in symbols(path):
        if size and any(s["addr"] <= addr < s["addr"] + s["size"] for s in text_secs):
            ranges.append([addr, size, name, None])
    ranges.sort()
    kept, end = [], 0
    for r in ranges:
        if r[0] < end:
            r[1] = max(0, r[0] + r[1] - end)
            r[0] = end
        if r[1]:
            kept.append(r)
            end = r[0] + r[1]
    starts = [r[0] for r in kept]

    def find(addr):
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and kept[i][0] <= addr < kept[i][0] + kept[i][1]:
            return i
        return None

    for r in kept:
        if not r[2].startswith(".L"):
            r[3] = group_of(r[2])
    # Anonymous data: the group of whoever points at it, resolved through chains of data.
    pointers = defaultdict(Counter)
    for src, dst in references(data, secs):
        si, di = find(src), find(dst & ~1)
        if di is not None and si is not None and si != di:
            pointers[di][si] += 1
    for _ in range(8):
        changed = False
        for di, srcs in pointers.items():
            if kept[di][3] is not None:
                continue
            votes = Counter()
            for si, n in srcs.items():
                if kept[si][3] is not None:
                    votes[kept[si][3]] += n
            if votes:
                kept[di][3] = votes.most_common(1)[0][0]
                changed = True
        if not changed:
            break
    groups = Counter()
    for r in kept:
        groups[r[3] or "rodata/unreferenced"] += r[1]
        if members is not None:
            members.setdefault(r[3] or "rodata/unreferenced", []).append((r[1], r[2]))
    covered = sum(groups.values())
    groups["padding"] = total - covered
    groups["text"] = total
    return dict(groups)


def table(cols, order=None):
    """Rows of `group  n1  n2 ...` sorted by the last column."""
    labels = list(cols)
    names = sorted({g for c in cols.values() for g in c if g != "text"},
                   key=lambda g: (-cols[labels[-1]].get(g, 0), g))
    width = max(len(n) for n in names + ["text"])
    lines = ["group".ljust(width) + "".join(f"{l:>12}" for l in labels)]
    for g in names + ["text"]:
        lines.append(g.ljust(width) + "".join(f"{cols[l].get(g, 0):>12}" for l in labels))
    return "\n".join(lines)


def main(argv):
    opts = {}
    for flag in ("--save", "--compare", "--symbols"):
        if flag in argv:
            i = argv.index(flag)
            opts[flag] = argv[i + 1]
            del argv[i:i + 2]
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    if not argv or any("=" not in a for a in argv):
        raise SystemExit(__doc__)
    cols, members = {}, {}
    for a in argv:
        label, path = a.split("=", 1)
        members[label] = {}
        cols[label] = breakdown(path, members[label])
        assert sum(v for g, v in cols[label].items() if g != "text") == cols[label]["text"]
    if "--save" in opts:
        with open(opts["--save"], "w") as f:
            json.dump(cols, f, indent=1, sort_keys=True)
    if as_json:
        print(json.dumps(cols, sort_keys=True))
        return
    print(table(cols))
    if "--symbols" in opts:
        group = opts["--symbols"]
        for label, m in members.items():
            print(f"\n{group} in {label}, largest first:")
            for size, name in sorted(m.get(group, []), reverse=True):
                print(f"{size:>8}  {name}")
    if "--compare" in opts:
        old = json.load(open(opts["--compare"]))
        diff = {}
        for label, new in cols.items():
            if label in old:
                keys = set(new) | set(old[label])
                diff[label + " Δ"] = {k: new.get(k, 0) - old[label].get(k, 0) for k in keys}
        if diff:
            print(f"\nchange against {opts['--compare']}:")
            print(table(diff))


if __name__ == "__main__":
    main(sys.argv[1:])
