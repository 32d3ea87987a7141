#!/usr/bin/env python3
"""Writes docs/signals.md from engine/include/sluice/signals.def (run from the source root
after adding a signal; tests/policy/test_rules_cli.py checks the two agree)."""
import re
import sys

HEAD = """# Signals

Every named anomaly the engine (and the dataplane's TCP reassembly) can raise. Rules match
them with `match signal NAME` (docs/rules.md); `sluicectl rules signals` prints the same
list. The source of truth is `engine/include/sluice/signals.def`: a signal is declared
there once, with its line of documentation; this file is written from it by
`engine/core/gen-signals-doc.py`. Names are stable; new ones are added at the end of a group.

Signals that say part of a message could not be scanned, and what the shipped policy does
with each, are in docs/rules.md ("Signals that say a message was not scanned").
"""


def main():
    out = [HEAD]
    for line in open('engine/include/sluice/signals.def', encoding='utf-8'):
        line = line.strip()
        group = re.match(r'/\* (.+?) ?\*/$', line)
        if group and not line.startswith('/* Every'):
            out.append(f'\n## {group.group(1)}\n\n| signal | meaning |\n|---|---|')
            continue
        sig = re.match(r'SL_SIGNAL\(\w+, "([^"]+)", "(.*)"\)$', line)
        if sig:
            out.append(f'| `{sig.group(1)}` | {sig.group(2)} |')
    open('docs/signals.md', 'w', encoding='utf-8').write('\n'.join(out) + '\n')


if __name__ == '__main__':
    sys.exit(main())
