#!/usr/bin/python3
"""test_results.py DIR LIST [DIR LIST]... — count the results of ./tools/test's runs.

DIR is a build folder whose meson-logs/testlog.json holds the results of one
`meson test` run; LIST holds what `meson test --list` gave for the same suites before the
run. OK and EXPECTEDFAIL pass; every other result (FAIL, SKIP, TIMEOUT, ERROR...) fails,
and so does every listed test without a result (a test that vanished, or a run that
died half-way). Failures are named on stderr; stdout gets "PASSED FAILED"."""
import json
import os
import sys


def results(builddir):
    """{test name: result} of the folder's last run (empty when there is no log)."""
    log = os.path.join(builddir, 'meson-logs', 'testlog.json')
    out = {}
    if os.path.exists(log):
        for line in open(log, encoding='utf-8'):
            if line.strip():
                r = json.loads(line)
                out[r['name']] = r.get('result')
    return out


def main():
    args = sys.argv[1:]
    passed = failed = 0
    for builddir, listing in zip(args[::2], args[1::2]):
        listed = [t.strip() for t in open(listing, encoding='utf-8') if t.strip()]
        got = results(builddir)
        for name in listed:
            result = got.get(name)
            if result in ('OK', 'EXPECTEDFAIL'):
                passed += 1
                continue
            failed += 1
            print(f'FAILED: {builddir}: {name} ({result or "NO RESULT"})', file=sys.stderr)
        for name in sorted(set(got) - set(listed)):
            failed += 1
            print(f'FAILED: {builddir}: {name} ran but was not listed ({got[name]})', file=sys.stderr)
    print(passed, failed)


if __name__ == '__main__':
    main()
