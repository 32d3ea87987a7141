#!/usr/bin/python3
"""build_options.py DIR COMPILER OPTION=VALUE... — does the configured build folder DIR
have these options (meson introspection) and this C compiler (gcc or clang)?

Prints one line per difference and exits 0 when there is none, 1 when options differ
(`meson setup --reconfigure` fixes them), 2 when the compiler differs or DIR cannot be
introspected (only a fresh folder fixes that)."""
import json
import subprocess
import sys


def introspect(builddir, what):
    r = subprocess.run(['meson', 'introspect', what, builddir], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'meson introspect {what} {builddir}: {r.stderr.strip()}')
    return json.loads(r.stdout)


def as_text(value):
    """An option's value as meson's command line writes it."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return ','.join(map(str, value))
    return str(value)


def compiler_family(builddir):
    """gcc or clang: what the C compiler of the folder's targets says it is."""
    for target in introspect(builddir, '--targets'):
        for src in target['target_sources']:
            if src.get('language') == 'c' and src.get('compiler'):
                r = subprocess.run([src['compiler'][0], '--version'], capture_output=True, text=True)
                out = r.stdout.lower()
                return 'clang' if 'clang' in out else 'gcc' if 'free software foundation' in out else out
    return 'none'


def main():
    builddir, want_cc = sys.argv[1], sys.argv[2]
    want = dict(arg.split('=', 1) for arg in sys.argv[3:])
    try:
        have = {o['name']: as_text(o['value']) for o in introspect(builddir, '--buildoptions')}
        cc = compiler_family(builddir)
    except (RuntimeError, ValueError, OSError) as e:
        print(e)
        return 2
    if cc != want_cc:
        print(f'{builddir}: C compiler {cc}, want {want_cc}')
        return 2
    wrong = [f'{builddir}: {k}={have.get(k, "(no such option)")}, want {k}={v}'
             for k, v in want.items() if have.get(k) != v]
    for line in wrong:
        print(line)
    return 1 if wrong else 0


if __name__ == '__main__':
    sys.exit(main())
