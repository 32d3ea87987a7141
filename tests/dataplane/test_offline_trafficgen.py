#!/usr/bin/python3
"""sluice-dp --offline on captures it has never seen: tools/trafficgen writes interleaved
SMTP sessions (plain, PIPELINING, BDAT, BDAT+PIPELINING; IPv4 and IPv6; with and
without a VLAN tag) and an index of what each message was and what the server said.
Every message the server accepted comes out byte for byte (SHA-256), with its envelope;
every one it refused has a verdict line and no file."""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402

TRAFFICGEN = os.path.join(dputil.SOURCE, 'tools', 'trafficgen')
POLICY = os.path.join(dputil.SOURCE, 'docs', 'examples', 'policy.rules')


def run_case(d, name, extra):
    pcap, index, out = (os.path.join(d, f'{name}.{x}') for x in ('pcap', 'jsonl', 'out'))
    subprocess.run([TRAFFICGEN, '-q', '-o', pcap, '--index', index, '--count', '60',
                    '--sessions', '40', '--concurrency', '12', '--ipv6', '0.3',
                    '--refuse-rate', '0.1', '--reject-rate', '0.1'] + extra,
                   check=True, timeout=300)
    r = subprocess.run([dputil.DP, '--offline', pcap, '--rules', POLICY, '--dump-messages', out],
                       capture_output=True, text=True, timeout=300)
    problems = []
    if r.returncode != 0:
        return [f'exit {r.returncode}: {r.stderr.strip()}']
    sent = [m for line in open(index) for m in json.loads(line)['messages']]
    accepted = {m['sha256']: m for m in sent if m['accepted']}
    refused = [m for m in sent if not m['accepted']]
    written = {}
    files = {os.path.basename(f) for f in glob.glob(os.path.join(out, '*.eml'))}
    for f in files:
        written[hashlib.sha256(open(os.path.join(out, f), 'rb').read()).hexdigest()] = f
    missing = set(accepted) - set(written)
    extra_files = set(written) - set(accepted)
    if missing:
        problems.append(f'{len(missing)} of {len(accepted)} accepted messages not reproduced')
    if extra_files:
        problems.append(f'{len(extra_files)} files that are no accepted message')
    lines = [json.loads(x) for x in open(os.path.join(out, 'verdicts.jsonl'))]
    by_file = {v['file']: v for v in lines if v['file']}
    no_verdict = sorted(files - set(by_file))
    if no_verdict:
        problems.append(f'{len(no_verdict)} files without a verdict line, first {no_verdict[0]}')
    dangling = sorted(set(by_file) - files)
    if dangling:
        problems.append(f'{len(dangling)} verdict lines name no written file, first {dangling[0]}')
    for sha, m in accepted.items():
        v = by_file.get(written.get(sha))
        if not v:
            continue  # not written (counted above) or without a verdict line (likewise)
        env = v['envelope']
        if env['mail_from'] != m['mail_from'] or sorted(env['rcpt']) != sorted(m['rcpt_accepted']):
            problems.append(f'{v["file"]}: envelope {env} but sent {m["mail_from"]} -> {m["rcpt_accepted"]}')
        if env['bdat'] != m['bdat']:
            problems.append(f'{v["file"]}: bdat {env["bdat"]}, sent {m["bdat"]}')
        if not v['server_reply'] or f'{v["server_reply"]["code"]} {v["server_reply"]["text"]}' != m['reply']:
            problems.append(f'{v["file"]}: server reply {v["server_reply"]}, sent {m["reply"]!r}')
    nulls = [v for v in lines if v['file'] is None]
    # refused at end of data: a line without a file (refused at RCPT: no transaction)
    want_refused = [m for m in refused if m['rcpt_accepted']]
    if len(nulls) != len(want_refused):
        problems.append(f'{len(nulls)} verdict lines without a file, {len(want_refused)} refused messages')
    if len(lines) != len(by_file) + len(nulls):
        problems.append('verdicts.jsonl lines are neither written nor refused')
    print(f'{"ok" if not problems else "FAIL":4} {name}: {len(accepted)} accepted, '
          f'{len(want_refused)} refused, {len(written)} written')
    for p in problems:
        print(f'       {p}')
    return problems


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        failed += bool(run_case(d, 'mixed', ['--seed', '3']))
        failed += bool(run_case(d, 'vlan', ['--seed', '4', '--vlan', '42']))
        failed += bool(run_case(d, 'odd-port', ['--seed', '5', '--port', '10025']))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
