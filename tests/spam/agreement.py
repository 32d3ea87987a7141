#!/usr/bin/env python3
"""Per-rule agreement between SpamAssassin and Sluice on the same messages.

usage: agreement.py SA.jsonl SLUICE.jsonl POLICY [--min-reproduced F] [--max-extra F] [--top N]

SA.jsonl is tests/spam/sa_hits.pl's output, SLUICE.jsonl `sluicectl rules test --json`'s
on the same files; POLICY the imported rules (`rules import-sa` output: ids sa.NAME).
Only rules the import wrote out are compared (the others are listed in its report).
A hit is one (message, rule) pair: "reproduced" is the share of SpamAssassin's hits
Sluice also has, "extra" the share of Sluice's hits SpamAssassin does not have. Prints
the rules that differ, worst first, and per message the score difference. Exit status
1 when a bound given is not met."""
import json
import os
import re
import sys


def load(path, key):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            out[os.path.normpath(o['file'])] = key(o)
    return out


def main(argv):
    args, opts = [], {}
    i = 0
    while i < len(argv):
        if argv[i].startswith('--'):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    imported = set(re.findall(r'^rule sa\.(\S+) \{', open(args[2], encoding='utf-8', errors='replace').read(), re.M))
    sa = load(args[0], lambda o: (set(o['hits']), o['score']))
    sl = load(args[1], lambda o: ({r['id'][3:] for r in o['rules'] if r['id'].startswith('sa.')},
                                  o['score']))
    missing = sorted(set(sa) ^ set(sl))
    if missing:
        print(f'messages not in both outputs: {" ".join(missing)}', file=sys.stderr)
        return 1
    both = sa_only = sl_only = 0
    per_rule = {}
    score_diffs = []
    for name in sorted(sa):
        a = sa[name][0] & imported
        b = sl[name][0]
        both += len(a & b)
        sa_only += len(a - b)
        sl_only += len(b - a)
        for r in a | b:
            st = per_rule.setdefault(r, [0, 0, 0])
            st[0 if r in a and r in b else 1 if r in a else 2] += 1
        score_diffs.append((abs(sa[name][1] - sl[name][1]), name, sa[name][1], sl[name][1]))
    sa_hits = both + sa_only
    sl_hits = both + sl_only
    reproduced = both / sa_hits if sa_hits else 1.0
    extra = sl_only / sl_hits if sl_hits else 0.0
    top = int(opts.get('--top', '25'))
    diff = sorted(((st[1] + st[2], r, st) for r, st in per_rule.items() if st[1] or st[2]), reverse=True)
    print(f'{len(sa)} messages, {len(imported)} imported rules, {len(per_rule)} with a hit')
    print(f'SpamAssassin hits on imported rules: {sa_hits}; Sluice reproduces {both} '
          f'({100 * reproduced:.1f} %), misses {sa_only}; Sluice has {sl_only} more '
          f'({100 * extra:.1f} % of its {sl_hits})')
    print(f'rules that differ: {len(diff)} (SA-only, Sluice-only hits)')
    for _, r, st in diff[:top]:
        print(f'  {r:40s} both {st[0]:3d}  SA only {st[1]:3d}  Sluice only {st[2]:3d}')
    score_diffs.sort(reverse=True)
    mean = sum(d[0] for d in score_diffs) / len(score_diffs)
    print(f'score difference per message (SA with every rule, Sluice imported rules): mean {mean:.2f}')
    for d, name, a, b in score_diffs[:min(top, 10)]:
        print(f'  {name:30s} SA {a:7.2f}  Sluice {b:7.2f}')
    ok = True
    if '--min-reproduced' in opts and reproduced < float(opts['--min-reproduced']):
        print(f'FAIL: reproduced {reproduced:.3f} < {opts["--min-reproduced"]}')
        ok = False
    if '--max-extra' in opts and extra > float(opts['--max-extra']):
        print(f'FAIL: extra {extra:.3f} > {opts["--max-extra"]}')
        ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
