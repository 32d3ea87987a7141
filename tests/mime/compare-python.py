#!/usr/bin/python3
"""Compare `sluicectl inspect --json` with Python's email package (policy=default).

usage: compare-python.py SLUICECTL EXCEPTIONS [--corpus COUNT] PATH...

PATH is a message file or a directory (searched recursively for *.eml). --corpus adds
COUNT messages from tools/corpus (seed 7), generated into a temporary directory. For every
message both sides report: subject, from (str() of the header), the number of leaf
parts (walk() minus is_multipart()), and per leaf part its content type, charset,
filename and the SHA-256 of get_payload(decode=True). Any difference must be listed
in EXCEPTIONS ("file<TAB>field<TAB>reason", file relative to the source root); a
listed difference that no longer happens is reported too, so the list stays true.
Exit status 0 when everything agrees, 1 otherwise. stdlib only."""
import email
import email.policy
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def python_view(path):
    with open(path, 'rb') as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)

    def guarded(fn):
        try:
            return fn()
        except Exception as e:  # Python itself fails on some malformed headers
            return 'EXCEPTION ' + type(e).__name__

    def header(name):
        return guarded(lambda: None if msg[name] is None else str(msg[name]))

    parts = []
    for p in msg.walk():
        if p.is_multipart():
            continue
        payload = guarded(lambda: p.get_payload(decode=True))
        parts.append({
            'content_type': guarded(p.get_content_type),
            'charset': guarded(lambda: p.get_content_charset() or None),  # '' (empty parameter) reads as none
            'filename': guarded(p.get_filename),
            'sha256': hashlib.sha256(payload).hexdigest() if isinstance(payload, bytes) else payload,
        })
    return {'subject': header('subject'), 'from': header('from'), 'parts': parts}


def differences(py, sl):
    """(field, python value, sluice value) for every field that differs."""
    out = []
    for field in ('subject', 'from'):
        if py[field] != sl[field]:
            out.append((field, py[field], sl[field]))
    if len(py['parts']) != len(sl['parts']):
        out.append(('parts', len(py['parts']), len(sl['parts'])))
        return out
    for i, (a, b) in enumerate(zip(py['parts'], sl['parts'])):
        for field in ('content_type', 'charset', 'filename', 'sha256'):
            if a[field] != b[field]:
                out.append(('part%d.%s' % (i + 1, field), a[field], b[field]))
    return out


def short(v):
    r = repr(v)
    return r if len(r) <= 300 else r[:300] + '... (%d chars)' % len(r)


def messages(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith('.eml'):
                        yield os.path.join(root, name)
        else:
            yield p


def main():
    sluicectl, exceptions_file = sys.argv[1], sys.argv[2]
    root = os.environ.get('SLUICE_SOURCE_ROOT', os.getcwd())
    known = {}
    if os.path.exists(exceptions_file):
        for line in open(exceptions_file, encoding='utf-8'):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            f, field, reason = line.split('\t', 2)
            known[(f, field)] = reason
    args = sys.argv[3:]
    tmp = None
    if args[:1] == ['--corpus']:
        tmp = tempfile.TemporaryDirectory()
        subprocess.run([os.path.join(root, 'tools', 'corpus'), '--count', args[1], '--seed', '7',
                        '--out', tmp.name], check=True, stdout=subprocess.DEVNULL)
        args = args[2:] + [tmp.name]
    files = list(messages(args))
    seen_known = set()
    failures = 0
    batch = 200
    for start in range(0, len(files), batch):
        chunk = files[start:start + batch]
        out = subprocess.run([sluicectl, 'inspect', '--json'] + chunk, capture_output=True)
        lines = out.stdout.decode('utf-8').splitlines()
        if out.returncode != 0 or len(lines) != len(chunk):
            print('FAIL: sluicectl exit %d, %d lines for %d files: %s' %
                  (out.returncode, len(lines), len(chunk), out.stderr.decode(errors='replace')))
            return 1
        for path, line in zip(chunk, lines):
            sl = json.loads(line)
            rel = os.path.relpath(os.path.abspath(path), root)
            for field, a, b in differences(python_view(path), sl):
                if (rel, field) in known:
                    seen_known.add((rel, field))
                    continue
                failures += 1
                print('DIFF %s %s\n  python: %s\n  sluice: %s' % (rel, field, short(a), short(b)))
    for key, reason in sorted(known.items()):
        if key not in seen_known and os.path.exists(os.path.join(root, key[0])) and \
                any(os.path.abspath(f) == os.path.join(root, key[0]) for f in files):
            failures += 1
            print('STALE exception (no longer differs): %s %s (%s)' % (key[0], key[1], reason))
    print('%d messages compared, %d known differences, %d unexpected' %
          (len(files), len(seen_known), failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
