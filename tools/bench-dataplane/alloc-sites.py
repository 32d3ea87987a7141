#!/usr/bin/env python3
"""Name the allocation sites bench-dataplane recorded (SLUICE_ALLOC_SITES=FILE writes
FILE.PID per process): each call stack's count and its frames as function+offset, most
frequent first. Usage: alloc-sites.py FILE.PID [TOP]"""
import bisect
import subprocess
import sys

symtabs = {}


def symbols(module):
    if module not in symtabs:
        addrs, names = [], []
        for flag in ([], ["-D"]):
            out = subprocess.run(["nm", "-n", "--defined-only"] + flag + [module],
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "tTwW":
                    addrs.append(int(parts[0], 16))
                    names.append(parts[2])
            if addrs:
                break
        order = sorted(range(len(addrs)), key=addrs.__getitem__)
        symtabs[module] = ([addrs[i] for i in order], [names[i] for i in order])
    return symtabs[module]


def name(frame):
    module, _, off = frame.rpartition("+")
    if module == "?":
        return frame
    addrs, names = symbols(module)
    i = bisect.bisect_right(addrs, int(off, 16)) - 1
    return f"{names[i]}+{int(off, 16) - addrs[i]:#x}" if i >= 0 else frame


def main():
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    stacks = []
    for line in open(sys.argv[1]):
        count, *frames = line.split()
        stacks.append((int(count), frames))
    stacks.sort(key=lambda s: -s[0])
    total = sum(c for c, _ in stacks)
    print(f"{total} allocations in {len(stacks)} stacks")
    for count, frames in stacks[:top]:
        print(f"{count:8d} {100 * count / total:5.1f}%  " + " < ".join(name(f) for f in frames))


main()
