#!/usr/bin/python3
"""sluice-dp --offline on every capture in tests/data/zeek/captures: the messages it
writes are, byte for byte and in order, the ones in tests/data/zeek/messages/<capture>/
(rebuilt independently from the reassembled streams); verdicts.jsonl has one well-formed
line per message, and each verdict is the one `sluicectl rules test` gives the written
message under the same direction (the shipped policy).

Zeek's `_INCOMPLETE` files are where Zeek guessed differently from the server, and
differ on purpose (docs/dataplane.md, "Offline mode"): KNOWN says what we write there."""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402

DATA = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek')
POLICY = os.path.join(dputil.SOURCE, 'docs', 'examples', 'policy.rules')


def capture_name(path):
    name = os.path.basename(path)
    for ext in ('.pcap.gz', '.pcapng', '.pcap'):
        if name.endswith(ext):
            return name[:-len(ext)]
    return name


SLUICECTL = os.path.join(dputil.BUILD, 'control', 'sluicectl')


def zeek_file(cap, name):
    return open(os.path.join(DATA, 'messages', cap, name), 'rb').read()


# capture -> check of the files we write, where Zeek's reference is an _INCOMPLETE guess
KNOWN = {
    # "BDAT 15555555557777777777 LAST" got 521 from the server: there is no message.
    # Zeek took the following "QUIT" as chunk data.
    'zeek__smtp__smtp-bdat-cmd-chunk-size-overflow': lambda got: got == [],
    'zeek__smtp__smtp-bdat-cmd-chunk-size-overflow2': lambda got: got == [],
    # A 1000-byte capture hole inside "BDAT 200": the chunk ends in the hole (its first
    # 100 bytes are Zeek's first 100), the server's 250 acknowledged the hole, and what
    # follows is a DATA transaction the server queued, which Zeek read as chunk bytes.
    'zeek__smtp__smtp-bdat-gap': lambda got: (
        len(got) == 2 and
        got[0] == zeek_file('zeek__smtp__smtp-bdat-gap', '01_s0_BDAT_INCOMPLETE.eml')[:100] and
        got[1] == b'From: sender@example.com\r\nTo: recipient@example.com\r\nSubject: Test\r\n'
                  b'\r\nHello!\r\n'),
}


def session_signals(verdict):
    """Signals of the session around the message (gaps, assumed replies, TCP overlaps,
    engine failures) that fired rules: the written file cannot show them."""
    return sorted({e['match'] for r in verdict.get('rules', []) for e in r.get('evidence', [])
                   if e.get('scope') == 'signal' and not e.get('match', '').startswith('mime.')})


def without_session_offsets(verdict):
    """The verdict with the offsets of session signals left out: the dataplane knows where
    in the message they were raised, `rules test --signal` does not."""
    v = json.loads(json.dumps(verdict))
    for r in v.get('rules', []):
        for e in r.get('evidence', []):
            if e.get('scope') == 'signal' and not e.get('match', '').startswith('mime.'):
                e.pop('offset', None)
    return v


def rules_test(eml, line):
    """What `sluicectl rules test` says of a written message, told what we knew:
    direction, envelope, client address, signals of the session."""
    env = line['envelope']
    args = [SLUICECTL, 'rules', 'test', POLICY, eml, '--json',
            '--direction', line['verdict']['direction'], '--mail-from', env['mail_from'],
            '--helo', env['helo'], '--client-ip', line['client'].rsplit(':', 1)[0].strip('[]')]
    for r in env['rcpt']:
        args += ['--rcpt', r]
    for s in session_signals(line['verdict']):
        args += ['--signal', s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        return None
    v = json.loads(r.stdout.splitlines()[0])
    v.pop('file', None)
    return v


def check(cap, out):
    problems = []
    expected = sorted(glob.glob(os.path.join(DATA, 'messages', capture_name(cap), '*.eml')))
    r = subprocess.run([dputil.DP, '--offline', cap, '--rules', POLICY, '--dump-messages', out],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return [f'exit {r.returncode}: {r.stderr.strip()}']
    got = sorted(glob.glob(os.path.join(out, '*.eml')),
                 key=lambda p: int(os.path.basename(p)[:-4]))
    known = KNOWN.get(capture_name(cap))
    if known:
        if not known([open(g, 'rb').read() for g in got]):
            problems.append(f'the documented difference from Zeek does not hold ({len(got)} files)')
        expected = []
    elif len(got) != len(expected):
        problems.append(f'{len(got)} messages written, want {len(expected)}')
    for g, e in zip(got, expected):
        a, b = open(g, 'rb').read(), open(e, 'rb').read()
        if a != b:
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            problems.append(f'{os.path.basename(g)} != {os.path.basename(e)}: {len(a)} vs {len(b)} bytes, '
                            f'first difference at {i}: {a[i:i+20]!r} vs {b[i:i+20]!r}')
    lines = open(os.path.join(out, 'verdicts.jsonl')).read().splitlines()
    files = []
    for ln in lines:
        v = json.loads(ln)
        for key in ('file', 'client', 'server', 'envelope', 'server_reply', 'verdict'):
            if key not in v:
                problems.append(f'verdicts.jsonl line without "{key}": {ln[:80]}')
        if v.get('verdict', {}).get('verdict') not in ('pass', 'reject', 'tempfail', 'quarantine'):
            problems.append(f'bad verdict in {ln[:120]}')
        if v.get('file'):
            files.append(v['file'])
            if v['verdict'].get('direction', 'unknown') != 'unknown':
                want = rules_test(os.path.join(out, v['file']), v)
                if want is None or without_session_offsets(want) != without_session_offsets(v['verdict']):
                    problems.append(f'{v["file"]}: verdict {json.dumps(v["verdict"])} but '
                                    f'sluicectl rules test says {json.dumps(want)}')
    if files != [os.path.basename(g) for g in got]:
        problems.append(f'verdicts.jsonl names {files}, files written {[os.path.basename(g) for g in got]}')
    return problems


def main():
    caps = sorted(glob.glob(os.path.join(DATA, 'captures', '*')))
    if not caps:
        sys.exit('FAIL: no captures')
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for cap in caps:
            out = os.path.join(d, capture_name(cap))
            problems = check(cap, out)
            status = 'ok' if not problems else 'FAIL'
            print(f'{status:4} {os.path.basename(cap)}')
            for p in problems:
                print(f'       {p}')
            failed += bool(problems)
    print(f'{len(caps) - failed}/{len(caps)} captures reproduced')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
