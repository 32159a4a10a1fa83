#!/usr/bin/env python3
"""Berkeley-style text/data/bss of an ELF file, plus the value of a few `usize` symbols.

Usage: elf_size.py [--json] [--label NAME] ELF [SYMBOL ...]

text = allocated read-only sections (code, rodata), data = allocated writable PROGBITS,
bss = allocated NOBITS: the same split as GNU `size`. Needs only the standard library.
"""
import json
import struct
import sys

SHF_WRITE, SHF_ALLOC = 0x1, 0x2
SHT_NOBITS, SHT_SYMTAB = 8, 2


def sections(data):
    if data[:4] != b"\x7fELF":
        raise SystemExit("not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        fmt = end + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)
        fmt = end + "IIIIIIIIII"
    raw = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    out = []
    for s in raw:
        name_off = strtab[4] + s[0]
        name = data[name_off:data.index(b"\0", name_off)].decode()
        out.append(dict(name=name, type=s[1], flags=s[2], addr=s[3], offset=s[4], size=s[5],
                        link=s[6], entsize=s[9]))
    return out, is64, end


def symbol_values(data, secs, is64, end, wanted):
    found = {}
    for s in secs:
        if s["type"] != SHT_SYMTAB:
            continue
        strs = secs[s["link"]]
        for i in range(s["size"] // s["entsize"]):
            off = s["offset"] + i * s["entsize"]
            if is64:
                name, _, _, shndx, value, size = struct.unpack_from(end + "IBBHQQ", data, off)
            else:
                name, value, size, _, _, shndx = struct.unpack_from(end + "IIIBBH", data, off)
            n_off = strs["offset"] + name
            n = data[n_off:data.index(b"\0", n_off)].decode()
            if n in wanted and shndx < len(secs):
                sec = secs[shndx]
                at = sec["offset"] + value - sec["addr"]
                found[n] = int.from_bytes(data[at:at + size], "little" if end == "<" else "big")
    return found


def main(argv):
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    label = None
    if "--label" in argv:
        i = argv.index("--label")
        label = argv[i + 1]
        del argv[i:i + 2]
    if not argv:
        raise SystemExit(__doc__)
    path, wanted = argv[0], argv[1:]
    data = open(path, "rb").read()
    secs, is64, end = sections(data)
    text = data_ = bss = 0
    for s in secs:
        if not s["flags"] & SHF_ALLOC:
            continue
        if s["type"] == SHT_NOBITS:
            bss += s["size"]
        elif s["flags"] & SHF_WRITE:
            data_ += s["size"]
        else:
            text += s["size"]
    result = dict(text=text, data=data_, bss=bss)
    result.update(symbol_values(data, secs, is64, end, set(wanted)))
    if label:
        result = dict(config=label, **result)
    if as_json:
        print(json.dumps(result))
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
