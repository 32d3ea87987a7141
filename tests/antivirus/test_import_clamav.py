#!/usr/bin/env python3
"""sluicectl rules import-clamav on a database directory written here: which signatures
become list files, that the policy it writes compiles and catches what they describe,
that what is not imported is in the report with its reason, and that a malformed line
is an error naming file:line."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from avlib import CTL, EICAR, eml_with_attachment  # noqa: E402
from sluicetest import check, exit_code  # noqa: E402


def write(d, name, text):
    with open(os.path.join(d, name), 'w') as f:
        f.write(text)


def run(*args):
    return subprocess.run([CTL, 'rules', *args], capture_output=True, text=True, timeout=60)


def main():
    import hashlib
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, 'db')
        out = os.path.join(tmp, 'out')
        os.mkdir(db)
        os.mkdir(out)
        write(db, 'a.hdb', '%s:%d:T.Eicar.Md5\n' % (hashlib.md5(EICAR).hexdigest(), len(EICAR)))
        write(db, 'a.hsb', '# comment\n%s:*:T.Eicar.Sha256:73\n' % hashlib.sha256(EICAR).hexdigest())
        write(db, 'a.ndb', 'T.Body:0:*:53495a5a??(41|42)*4344\n'
                           'T.PE:1:*:4d5a9000\n'
                           'T.Eof:0:EOF-10:41424344\n'
                           'T.Anchor:0:*:4142(B)4344\n')
        write(db, 'a.ldb', 'T.Ldb;Engine:51-255,Target:0;0;10:5a5a5a5a5a5a\n'
                           'T.Ldb2;Target:0;0&1;41414141;42424242\n'
                           'T.Ldb3;Target:0,FileSize:10-20;0;41414141\n'
                           'T.Ldb4;Target:0;0;41414141::i\n'
                           'T.Ldb5;Engine:51-255,Target:1;0;41414141\n')
        write(db, 'main.cvd', 'ClamAV-VDB:not really\n')
        write(db, 'x.mdb', '')
        policy = os.path.join(out, 'av.rules')
        report = os.path.join(out, 'report.txt')
        r = run('import-clamav', db, '-o', policy, '--report', report)
        check(r.returncode == 0, 'import-clamav succeeds: ' + r.stderr.strip())
        check('2 hash and 2 body signatures imported, 7 not imported' in r.stderr, 'summary counts')
        hashes = open(os.path.join(out, 'av.hashes')).read().split()
        check(len(hashes) == 2 and hashes[1].endswith(':*:T.Eicar.Sha256'), '.hdb and .hsb lines in av.hashes')
        ndb = open(os.path.join(out, 'av.ndb')).read().splitlines()
        check(ndb == ['T.Ldb:0:10:5a5a5a5a5a5a', 'T.Body:0:*:53495a5a??(41|42)*4344'],
              'the .ldb subset and .ndb target 0 in av.ndb: %r' % ndb)
        rep = open(report).read()
        for want in ('main.cvd: signed container', 'x.mdb: PE section hashes',
                     'a.ndb:2: T.PE: target type other than 0', 'a.ndb:3: T.Eof: offset relative',
                     'a.ndb:4: T.Anchor: word/line boundary', 'a.ldb:2: T.Ldb2: logical expression',
                     'a.ldb:3: T.Ldb3: target description', 'a.ldb:4: T.Ldb4: subsignature modifiers',
                     'a.ldb:5: T.Ldb5: target type other than 0'):
            check(want in rep, 'report: ' + want)
        check(run('check', policy).returncode == 0, 'the written policy compiles')

        msgs = []
        for name, data in (('eicar', EICAR), ('body', b'xx SIZZ\x00Bqq CD yy'),
                           ('ldb', b'0123456789ZZZZZZ'), ('ldb-off', b'01234567890ZZZZZZ'),
                           ('clean', b'nothing here at all')):
            p = os.path.join(tmp, name + '.eml')
            with open(p, 'wb') as f:
                f.write(eml_with_attachment(data, name + '.bin'))
            msgs.append(p)
        r = run('test', '--json', policy, *msgs)
        got = {}
        for line in r.stdout.splitlines():
            v = json.loads(line)
            got[os.path.basename(v['file'])] = sorted(e['match'] for h in v['rules'] for e in h['evidence'])
        want = {'eicar.eml': ['T.Eicar.Md5', 'T.Eicar.Sha256'], 'body.eml': ['T.Body'],
                'ldb.eml': ['T.Ldb'], 'ldb-off.eml': [], 'clean.eml': []}
        check(got == want, 'rules test finds the imported signatures: %r' % got)

        write(db, 'b.hdb', '%s:%d:T.Sha1InHdb\n' % (hashlib.sha1(EICAR).hexdigest(), len(EICAR)))
        write(db, 'b.ndb', 'T.Ok:0:*:4142\nT.Short:0:*\nT.Type:x:*:4142\nT.Off:0:Q5:4142\n')
        r = run('import-clamav', db, '-o', policy)
        check(r.returncode == 1, 'bad lines fail the import')
        for want in ('db/b.hdb:1: the hash is not 32 hex digits', 'db/b.ndb:2: want Name:TargetType',
                     'db/b.ndb:3: the target type is not a number', 'db/b.ndb:4: the offset is not'):
            check(want in r.stderr, 'error names file:line: ' + want)

        # well formed, but refused by the policy compiler: named at its database line
        bad = os.path.join(tmp, 'bad')
        os.mkdir(bad)
        write(bad, 'c.ndb', 'T.Fine:0:*:41424344\nT.Odd:0:*:41424\n')
        r = run('import-clamav', bad, '-o', os.path.join(out, 'bad.rules'))
        check(r.returncode == 1 and 'bad/c.ndb:2: signature T.Odd: odd number of hex digits\n' in r.stderr,
              'a signature the compiler refuses is named at its line: ' + r.stderr.strip())
        check(not os.path.exists(os.path.join(out, 'bad.rules')), 'and no policy is left behind')

        empty = os.path.join(tmp, 'empty')
        os.mkdir(empty)
        write(empty, 'only.mdb', '')
        r = run('import-clamav', empty, '-o', os.path.join(out, 'empty.rules'))
        check(r.returncode == 1 and 'no signature this importer can use' in r.stderr,
              'nothing importable is an error: ' + r.stderr.strip())
        r = run('import-clamav', os.path.join(tmp, 'missing'), '-o', os.path.join(out, 'm.rules'))
        check(r.returncode == 1 and 'missing: No such file or directory' in r.stderr,
              'a missing directory is an error: ' + r.stderr.strip())
    return exit_code()


if __name__ == '__main__':
    sys.exit(main())
