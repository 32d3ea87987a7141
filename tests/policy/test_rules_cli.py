#!/usr/bin/python3
"""`sluicectl rules` end to end (release build): check, compile, test (through the real
SMTP session and MIME parser) and cost, on the shipped policy and tests/data/policy."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from sluicetest import check, exit_code, own_rules  # noqa: E402

SRC = os.environ['SLUICE_SOURCE_ROOT']
BUILD = os.environ['SLUICE_BUILD_ROOT']
CTL = os.path.join(BUILD, 'control', 'sluicectl')
DOCS = os.path.join(SRC, 'docs', 'examples')
POLICY = os.path.join(DOCS, 'policy.rules')
DATA = os.path.join(SRC, 'tests', 'data', 'policy')

# file -> (verdict, alert, rules that fire)
EXPECT = {
    'clean-inbound.eml': ('pass', False, []),
    'card-body-outbound.eml': ('quarantine', False, ['dlp.credit-card']),
    'card-body-inbound.eml': ('pass', False, []),
    'card-not-luhn-outbound.eml': ('pass', False, []),
    'card-base64-attachment-outbound.eml': ('quarantine', False, ['dlp.credit-card']),
    'card-qp-split-outbound.eml': ('quarantine', False, ['dlp.credit-card']),
    'card-dump-outbound.eml': ('reject', False, ['dlp.credit-card', 'dlp.card-dump']),
    'tw-id-big5-outbound.eml': ('quarantine', False, ['dlp.tw-national-id', 'dlp.confidential']),
    'tw-id-invalid-outbound.eml': ('pass', False, []),
    'confidential-gbk-outbound.eml': ('pass', True, ['dlp.confidential']),
    'eicar-base64-attachment.eml': ('reject', False, ['av.eicar', 'av.known-bad', 'attach.executable']),
    'eicar-plain-attachment.eml': ('reject', False, ['av.eicar', 'av.known-bad']),
    'exe-rfc2231-filename.eml': ('reject', False, ['attach.executable']),
    'exe-rfc2231-continuation.eml': ('reject', False, ['attach.executable']),
    'exe-rfc2047-name.eml': ('reject', False, ['attach.executable']),
    'pdf-attachment-clean.eml': ('pass', False, []),
    'smuggling-lf-dot-crlf.eml': ('reject', False, ['smtp.smuggling']),
    'spam-scoring.eml': ('quarantine', False, ['spam.subject', 'spam.body-phrases']),
}


def run(*args, ok=True):
    p = subprocess.run([CTL, 'rules', *args], capture_output=True, text=True, timeout=300)
    if ok and p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


def verdicts(policy, files, *opts):
    p = run('test', policy, *files, '--json', *opts)
    check(p.returncode == 0, f'rules test exit 0 ({p.stderr.strip()})')
    out = {}
    for line in p.stdout.splitlines():
        v = json.loads(line)
        out[os.path.basename(v['file'])] = v
    return out


def own(v):
    """The policy's own rules that fired: the imported SpamAssassin rules (sa.*, included
    from spamassassin.rules) are spam_agreement's to check against SpamAssassin."""
    return [r['id'] for r in v['rules'] if not r['id'].startswith('sa.')] if v else None


def main():
    p = run('check', POLICY)
    nrules = sum(len(re.findall(r'^rule ', open(os.path.join(os.path.dirname(POLICY), f), encoding='latin-1').read(), re.M))
                 for f in ('policy.rules', 'spamassassin.rules'))
    check(p.returncode == 0 and f'rules            {nrules}\n' in p.stdout and 'compile time' in p.stdout
          and 'database size' in p.stdout, 'rules check prints count, compile time, size')

    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, 'bad.rules')
        with open(bad, 'w') as f:
            f.write('rule ok { match body "x" action alert }\n\nrule bad {\n  match body /a(/\n  action reject\n}\n')
        p = run('check', bad, ok=False)
        check(p.returncode == 1 and p.stderr.startswith(bad + ':4:14: rule bad: '),
              f'rules check error has file:line:column ({p.stderr.strip()})')

        files = sorted(os.path.join(DATA, f) for f in EXPECT)
        got = verdicts(POLICY, files)
        for name, (verdict, alert, rules) in EXPECT.items():
            v = got.get(name)
            ids = own(v)
            check(v is not None and v['verdict'] == verdict and v['alert'] == alert and ids == rules,
                  f'{name}: {verdict} {rules} (got {v and v["verdict"]} {ids})')
        v = got['spam-scoring.eml']
        # 4 + 4 of the policy's own rules, and SpamAssassin's CTE_8BIT_MISMATCH (1: UTF-8
        # text without a Content-Transfer-Encoding) and NO_RECEIVED (-0.001)
        check(abs(v['score'] - 8.999) < 0.0005 and v['reply'] == '250 2.0.0 Ok: queued',
              f'spam score 8.999 -> quarantine ({v["score"]})')
        v = got['eicar-base64-attachment.eml']
        check(v['reply'].startswith('554 5.7.1 Message rejected: virus found'), 'EICAR reply text')
        ev = got['card-base64-attachment-outbound.eml']['rules'][0]['evidence'][0]
        check(ev['scope'] == 'attachment-text' and ev['part'] == '2', 'card found in the decoded base64 attachment')

        # a message saved with LF line ends gives the same verdicts
        lf = []
        for name in ('tw-id-big5-outbound.eml', 'eicar-base64-attachment.eml', 'exe-rfc2231-continuation.eml'):
            with open(os.path.join(DATA, name), 'rb') as f:
                data = f.read().replace(b'\r\n', b'\n')
            lf.append(os.path.join(tmp, name))
            with open(lf[-1], 'wb') as f:
                f.write(data)
        lfv = verdicts(POLICY, lf)
        for name in lfv:
            check([r['id'] for r in lfv[name]['rules']] == [r['id'] for r in got[name]['rules']]
                  and lfv[name]['verdict'] == got[name]['verdict'], f'{name} with LF line ends')

        # the bundle gives the same verdicts
        bundle = os.path.join(tmp, 'policy.bundle')
        p = run('compile', POLICY, '-o', bundle)
        check(p.returncode == 0 and os.path.getsize(bundle) > 0, 'rules compile writes a bundle')
        p = run('check', bundle)
        check(p.returncode == 0 and 'bundle: loaded, not compiled' in p.stdout, 'bundle loads without compiling')
        check(verdicts(bundle, files) == got, 'bundle verdicts equal policy verdicts')
        with open(bundle, 'rb') as f:
            b = bytearray(f.read())
        b[-20] ^= 0xff
        with open(bundle, 'wb') as f:
            f.write(b)
        p = run('check', bundle, ok=False)
        check(p.returncode == 1 and 'checksum mismatch' in p.stderr, 'damaged bundle refused')

    # envelope and direction options
    card_in = os.path.join(DATA, 'card-body-inbound.eml')
    card_out = os.path.join(DATA, 'card-body-outbound.eml')
    v = verdicts(POLICY, [card_in], '--direction', 'outbound')['card-body-inbound.eml']
    check(v['verdict'] == 'quarantine' and v['direction'] == 'outbound', '--direction outbound forces DLP')
    v = verdicts(POLICY, [card_out], '--mail-from', 'x@other.example.org',
                 '--rcpt', 'alice@example.com')['card-body-outbound.eml']
    check(v['verdict'] == 'pass' and v['direction'] == 'inbound', '--mail-from/--rcpt set the envelope')
    v = verdicts(POLICY, [card_in], '--client-ip', '192.0.2.9',
                 '--rcpt', 'someone@elsewhere.example.net')['card-body-inbound.eml']
    check(v['direction'] == 'outbound', '--client-ip in an internal network makes mail outbound')

    # an unreadable file is reported, the others still done
    p = run('test', POLICY, '/nonexistent.eml', card_out, ok=False)
    check(p.returncode == 1 and '/nonexistent.eml' in p.stderr and 'card-body-outbound.eml: quarantine' in p.stdout,
          'unreadable file reported, others done')

    p = run('signals')
    names = [l.split()[0] for l in p.stdout.splitlines() if l.strip()]
    check(p.returncode == 0 and 'smtp.smuggling' in names and 'mime.bad_base64' in names,
          'rules signals lists the engine signals')
    doc = open(os.path.join(SRC, 'docs', 'signals.md'), encoding='utf-8').read()
    rows = [l.split(None, 1) for l in p.stdout.splitlines() if l.strip()]
    stale = [r[0] for r in rows if f'| `{r[0]}` | {r[1] if len(r) > 1 else ""} |' not in doc]
    check(not stale, f'docs/signals.md lists every signal as signals.def says (stale: {stale}; '
          'run engine/core/gen-signals-doc.py)')

    # --signal: what the dataplane saw around the message
    clean = os.path.join(DATA, 'clean-inbound.eml')
    v = verdicts(POLICY, [clean], '--signal', 'smtp.gap')['clean-inbound.eml']
    check(v['verdict'] == 'tempfail' and v['decided_by'] == 'unscanned.session',
          f'--signal smtp.gap defers a clean message ({v["verdict"]})')
    p = run('test', POLICY, clean, '--signal', 'smtp.nosuch', ok=False)
    check(p.returncode == 2 and 'unknown signal' in p.stderr, '--signal refuses an unknown name')

    # cost: smoke run on the test messages, with the policy's own 19 rules (each rule left
    # out is a recompile: with the 1,890 imported ones that is minutes, not a smoke test)
    own_dir = tempfile.mkdtemp()
    p = run('cost', own_rules(own_dir), DATA, '--seconds', '0.01', '--top', '3')
    shutil.rmtree(own_dir)
    check(p.returncode == 0 and 'whole policy: 19 rules' in p.stdout and 'share of scan' in p.stdout
          and 'ceiling: raw Hyperscan block scans' in p.stdout
          and len(p.stdout.split('share of scan\n')[1].splitlines()) == 5,  # 3 rules, 'more', note
          'rules cost prints the worst rules')

    return exit_code()


if __name__ == '__main__':
    sys.exit(main())
