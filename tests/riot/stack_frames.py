#!/usr/bin/env python3
"""Stack frames of a Cortex-M (thumb) ELF, read off its disassembly.

A function's frame is what its prologue reserves: the registers it pushes (`push`, `stmdb sp!`,
`vpush`) plus its `sub sp` adjustments. The deepest path from a root adds the frames along the
direct calls (`bl` / `b.w` to a function) it can reach; indirect calls (`blx rN`, e.g. through
`&dyn Object`) cannot be followed from the code alone, so a path through one is reported as a
lower bound, unless `--indirect PATTERN` names the functions they can reach (e.g.
`as lwm2m::dm::Object>::` for the engine's object calls): each indirect call site then
counts as a call to every function whose name contains a pattern. A call cycle (recursion)
is cut and named.

    python3 tests/riot/stack_frames.py ELF [--function NAME ...] [--root NAME ...] [--top N]
        [--max-frame BYTES] [--budget-symbol SYMBOL | --budget BYTES] [--reserve BYTES]
        [--indirect PATTERN ...]

`--function` prints the frame of each named function (demangled names match by substring);
`--root` prints the deepest direct-call path below each; `--top` lists the N largest frames;
`--max-frame` exits with status 1 when a `--function` frame exceeds BYTES (for scripts that
check a thread's stack budget); `--budget` (or `--budget-symbol`, the size of a static such
as a thread's stack array, read with nm, less `--reserve` for what the thread's own entry
function and saved context take) exits with status 1 when a `--root` path exceeds it.
Needs arm-none-eabi-objdump and arm-none-eabi-nm (binutils-arm-none-eabi).
"""

import argparse
import re
import subprocess
import sys

FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
REGLIST = re.compile(r"\{([^}]*)\}")
SUB_SP = re.compile(r"^sub(?:\.w|w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")
DYN_SP = re.compile(r"^sub(?:\.w)?\s+sp,\s*sp,\s*r\d+")
CALL = re.compile(r"^(bl|b\.w|b)\s+([0-9a-f]+)\s+<([^>+]+)>")


def reg_count(text):
    """Registers in a `{r4-r7, lr}` list."""
    m = REGLIST.search(text)
    if not m:
        return 0
    n = 0
    for part in m.group(1).split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(re.sub(r"\D", "", b)) - int(re.sub(r"\D", "", a)) + 1
        elif part:
            n += 1
    return n


class Function:
    """Frame and direct callees of one function."""

    def __init__(self, name):
        self.name = name
        self.frame = 0
        self.dynamic = False
        self.indirect = False
        self.callees = set()


def parse(objdump_text):
    """Functions of an `objdump -d -C --no-show-raw-insn` listing, by name."""
    funcs = {}
    cur = None
    for line in objdump_text.splitlines():
        m = FUNC.match(line)
        if m:
            cur = funcs.setdefault(m.group(2), Function(m.group(2)))
            continue
        m = INSN.match(line)
        if not m or cur is None:
            continue
        op, args = m.group(2), m.group(3).split(";")[0].split("@")[0].strip()
        text = f"{op} {args}"
        if op in ("push", "push.w") or (op == "stmdb" and args.startswith("sp!")):
            cur.frame += 4 * reg_count(args)
        elif op == "vpush":
            width = 8 if "d" in REGLIST.search(args).group(1) else 4
            cur.frame += width * reg_count(args)
        elif SUB_SP.match(text):
            cur.frame += int(SUB_SP.match(text).group(1))
        elif DYN_SP.match(text):
            cur.dynamic = True
        elif op.startswith("blx"):
            cur.indirect = True
        else:
            # `<name+0x..>` targets (branches inside a function) do not match CALL.
            c = CALL.match(text)
            if c:
                cur.callees.add(c.group(3))
    return funcs


def deepest(funcs, root, indirect=()):
    """(bytes, path, lower_bound, cycles) of the deepest call path from `root`; indirect call
    sites go to every function whose name contains one of `indirect`'s patterns (and make the
    result a lower bound when `indirect` is empty)."""
    targets = sorted(n for n in funcs if any(p in n for p in indirect))
    memo = {}
    cycles = set()

    def walk(name, stack):
        if name in memo:
            return memo[name]
        f = funcs.get(name)
        if f is None:
            return (0, [name], True)
        best = (0, [], False)
        stack.add(name)
        callees = set(f.callees)
        if f.indirect and targets:
            callees.update(targets)
        for c in sorted(callees):
            if c in stack:
                cycles.add(c)
                continue
            sub = walk(c, stack)
            if sub[0] > best[0]:
                best = sub
        stack.discard(name)
        lower = (f.indirect and not targets) or f.dynamic or best[2]
        res = (f.frame + best[0], [name] + best[1], lower)
        memo[name] = res
        return res

    total, path, lower = walk(root, set())
    return total, path, lower, cycles


def symbol_size(nm, elf, name):
    """Size of the data symbol `name` (e.g. a thread's stack array)."""
    try:
        out = subprocess.run([nm, "-S", elf], check=True, capture_output=True, text=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        sys.exit(f"stack_frames: {nm} failed: {e}")
    sizes = [int(p[1], 16) for p in (l.split() for l in out.splitlines())
             if len(p) == 4 and p[3] == name]
    if len(sizes) != 1:
        sys.exit(f"stack_frames: {len(sizes)} symbols named {name!r} in {elf}")
    return sizes[0]


def find(funcs, pattern):
    """The function named `pattern`, or the only one whose name contains it."""
    if pattern in funcs:
        return funcs[pattern]
    hits = [f for n, f in funcs.items() if pattern in n]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        sys.exit(f"stack_frames: no function matches {pattern!r}")
    sys.exit(f"stack_frames: {len(hits)} functions match {pattern!r}, be more precise")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("elf")
    ap.add_argument("--function", action="append", default=[])
    ap.add_argument("--root", action="append", default=[])
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--max-frame", type=int)
    ap.add_argument("--indirect", action="append", default=[])
    ap.add_argument("--budget", type=int)
    ap.add_argument("--budget-symbol")
    ap.add_argument("--reserve", type=int, default=0)
    ap.add_argument("--objdump", default="arm-none-eabi-objdump")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    a = ap.parse_args()
    budget = a.budget
    if a.budget_symbol:
        budget = symbol_size(a.nm, a.elf, a.budget_symbol)
        print(f"budget {budget:6d} B  {a.budget_symbol}")
    if budget is not None and a.reserve:
        budget -= a.reserve
        print(f"budget {budget:6d} B  after a reserve of {a.reserve} B")
    try:
        out = subprocess.run(
            [a.objdump, "-d", "-C", "--no-show-raw-insn", a.elf],
            check=True, capture_output=True, text=True,
        ).stdout
    except FileNotFoundError:
        sys.exit(f"stack_frames: {a.objdump} not found (apt install binutils-arm-none-eabi)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"stack_frames: {a.objdump} failed: {e.stderr.strip()}")
    funcs = parse(out)
    status = 0
    for pat in a.function:
        f = find(funcs, pat)
        note = " + dynamic" if f.dynamic else ""
        print(f"frame {f.frame:6d} B{note}  {f.name}")
        if a.max_frame is not None and f.frame > a.max_frame:
            print(f"stack_frames: {f.name}: frame {f.frame} B exceeds {a.max_frame} B")
            status = 1
    for pat in a.root:
        f = find(funcs, pat)
        total, path, lower, cycles = deepest(funcs, f.name, a.indirect)
        bound = " (lower bound: indirect calls not followed)" if lower else ""
        print(f"deepest {total:6d} B{bound}  from {f.name}")
        for n in path:
            fr = funcs[n].frame if n in funcs else 0
            print(f"    {fr:6d}  {n}")
        if cycles:
            print("    recursion cut at: " + ", ".join(sorted(cycles)))
        if budget is not None and total > budget:
            print(f"stack_frames: {f.name}: {total} B deep, budget {budget} B")
            status = 1
    if a.top:
        for f in sorted(funcs.values(), key=lambda f: -f.frame)[: a.top]:
            print(f"frame {f.frame:6d} B  {f.name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
