#!/usr/bin/python3
"""docs/protection.md's configuration block is what sluice-dp does: the block is a valid
configuration file, and `sluice-dp --check-config` prints for [protect] exactly the keys
and default values the block lists (no key missing from the page, none the page
invents); the [protect] lines of docs/dataplane.md's block are defaults too."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
from dputil import check  # noqa: E402


def section(text, name):
    """key = value lines (comments gone) of [name] in a configuration text."""
    out, on = {}, False
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line.startswith('['):
            on = line == f'[{name}]'
        elif on and '=' in line:
            k, v = (x.strip() for x in line.split('=', 1))
            out[k] = v
    return out


def block(path, first):
    text = open(os.path.join(dputil.SOURCE, 'docs', path)).read()
    for b in re.findall(r'```\n(.*?)```', text, re.S):
        if b.lstrip().startswith(first):
            return b
    raise dputil.Failed(f'docs/{path}: no configuration block starting {first}')


def main():
    dp = os.path.join(dputil.BUILD, 'dataplane', 'sluice-dp')
    doc = block('protection.md', '[protect]')
    with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
        f.write(doc)
        f.flush()
        r = subprocess.run([dp, '--check-config', f.name], capture_output=True, text=True)
    check(r.returncode == 0, f'the block does not parse: {r.stderr}')
    printed = section(r.stdout, 'protect')
    defaults = section(subprocess.run([dp, '--check-config', '/dev/null'], capture_output=True,
                                      text=True).stdout, 'protect')
    documented = section(doc, 'protect')
    check(printed == defaults, f'the block sets other values than the defaults: '
          f'{ {k: (v, defaults.get(k)) for k, v in printed.items() if defaults.get(k) != v} }')
    check(documented == defaults, f'docs/protection.md and the defaults differ: missing '
          f'{sorted(set(defaults) - set(documented))}, unknown {sorted(set(documented) - set(defaults))}, '
          f'other values { {k: (v, defaults[k]) for k, v in documented.items() if k in defaults and defaults[k] != v} }')
    short = section(block('dataplane.md', '[ports]'), 'protect')
    check(short and all(defaults.get(k) == v for k, v in short.items()),
          f'docs/dataplane.md [protect] lines are not defaults: {short}')
    print(f'protection docs: {len(defaults)} [protect] keys, as documented')


if __name__ == '__main__':
    try:
        main()
    except dputil.Failed as e:
        sys.exit(f'FAIL: {e}')
