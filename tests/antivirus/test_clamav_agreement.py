#!/usr/bin/env python3
"""The same ClamAV database given to `clamscan -d` and, through `sluicectl rules
import-clamav`, to Sluice: each generated file scanned by clamscan as it is and by Sluice
as a base64 attachment; the detections (file -> signature names) must be identical.
The database covers every imported feature: .hdb/.hsb hashes with and without sizes,
.ndb wildcards (??, nibbles, *, {n-m}, [n-m], alternatives, negation), offsets N and
N,M, and the .ldb subset; the files hold each signature, near misses of it, and clean
bytes. Prints the table. Only clamscan runs: no daemon, no freshclam, no network."""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from avlib import CTL, EICAR, eml_with_attachment

rng = random.Random(13)


def noise(n):
    return bytes(rng.randrange(256) for _ in range(n))


def pad(n):
    return b'.' * n


HASHED = noise(1000)
HASHED_SHA1 = noise(777)
HASHED_SHA256 = noise(4096)

NDB = [
    'Agr.Eicar.Body:0:*:' + b'EICAR-STANDARD-ANTIVIRUS'.hex(),
    'Agr.Wild.Any:0:*:a1b2c3d4??e5f6a7b8',
    'Agr.Wild.Nibble:0:*:c0def??abeef01',
    'Agr.Wild.Star:0:*:1122334455*6677889900',
    'Agr.Wild.Range:0:*:aabbccdd{2-4}eeff0011',
    'Agr.Wild.Alt:0:*:5566(77|8899)bbccddee11',
    'Agr.Wild.Not:0:*:0f1e2d3c!(00|ff)4b5a6978',
    'Agr.Wild.Bracket:0:*:9a[1-3]0102030405',
    'Agr.Off.Exact:0:16:' + b'OFFSET'.hex(),
    'Agr.Off.Range:0:8,16:' + b'RANGE'.hex(),
]
LDB = ['Agr.Ldb.One;Engine:51-255,Target:0;0;' + b'LOGICAL-ONE'.hex()]
HDB = ['%s:%d:Agr.Hash.Md5' % (hashlib.md5(HASHED).hexdigest(), len(HASHED))]
HSB = ['%s:%d:Agr.Hash.Sha1' % (hashlib.sha1(HASHED_SHA1).hexdigest(), len(HASHED_SHA1)),
       '%s:*:Agr.Hash.Sha256:73' % hashlib.sha256(HASHED_SHA256).hexdigest(),
       '%s:%d:Agr.Eicar.Sha256' % (hashlib.sha256(EICAR).hexdigest(), len(EICAR))]


def around(core):
    return noise(300) + core + noise(300)


FILES = {
    'eicar.com': EICAR,
    'eicar-inside.bin': around(EICAR),
    'any-hit.bin': around(bytes.fromhex('a1b2c3d47fe5f6a7b8')),
    'any-miss.bin': around(bytes.fromhex('a1b2c3d47f7fe5f6a7b8')),
    'nibble-hit.bin': around(bytes.fromhex('c0def53abeef01')),
    'nibble-miss.bin': around(bytes.fromhex('c0dee53abeef01')),
    'star-hit.bin': around(bytes.fromhex('1122334455') + noise(2000) + bytes.fromhex('6677889900')),
    'star-miss.bin': around(bytes.fromhex('1122334455') + noise(50)),
    'range-hit.bin': around(bytes.fromhex('aabbccdd010203eeff0011')),
    'range-miss.bin': around(bytes.fromhex('aabbccdd0102030405eeff0011')),
    'alt-hit.bin': around(bytes.fromhex('55668899bbccddee11')),
    'alt-miss.bin': around(bytes.fromhex('556688bbccddee11')),
    'not-hit.bin': around(bytes.fromhex('0f1e2d3c104b5a6978')),
    'not-miss.bin': around(bytes.fromhex('0f1e2d3cff4b5a6978')),
    'bracket-hit.bin': around(bytes.fromhex('9a77770102030405')),
    'bracket-miss.bin': around(bytes.fromhex('9a777777770102030405')),
    'offset-exact-hit.bin': pad(16) + b'OFFSET' + pad(100),
    'offset-exact-miss.bin': pad(17) + b'OFFSET' + pad(100),
    'offset-range-first.bin': pad(8) + b'RANGE' + pad(100),
    'offset-range-last.bin': pad(24) + b'RANGE' + pad(100),
    'offset-range-before.bin': pad(7) + b'RANGE' + pad(100),
    'offset-range-after.bin': pad(25) + b'RANGE' + pad(100),
    'ldb-hit.bin': around(b'LOGICAL-ONE'),
    'ldb-miss.bin': around(b'LOGICAL-ONF'),
    'hash-md5.bin': HASHED,
    'hash-md5-changed.bin': HASHED[:-1] + bytes([HASHED[-1] ^ 1]),
    'hash-md5-longer.bin': HASHED + b'\0',
    'hash-sha1.bin': HASHED_SHA1,
    'hash-sha256.bin': HASHED_SHA256,
    'hash-sha256-shorter.bin': HASHED_SHA256[:-1],
    'clean-1.bin': noise(5000),
    'clean-2.bin': noise(70000),
    'clean-3.txt': b'An ordinary text attachment.\n' * 40,
}


# clamav-testfiles: clam.exe (ClamAV's harmless test program) as it is, packed by
# Windows packers, inside archives, documents and mail. ClamAV unpacks all of them;
# Sluice opens ZIP, gzip and tar (docs/extraction.md) and its hash lists do not see
# archive members. What Sluice must find is below; the rest is measured and printed
# (docs/antivirus.md), and Sluice must never report what clamscan does not.
TESTFILES = '/usr/share/clamav-testfiles'
CLAM_EXE = os.path.join(TESTFILES, 'clam.exe')
TESTFILES_SLUICE_FINDS = {'clam.exe': {'Tf.Clam.Body', 'Tf.Clam.Md5'},
                          'clam.zip': {'Tf.Clam.Body'}, 'clam.tar.gz': {'Tf.Clam.Body'}}


def testfiles_db():
    exe = open(CLAM_EXE, 'rb').read()
    return {'tf.hdb': ['%s:%d:Tf.Clam.Md5' % (hashlib.md5(exe).hexdigest(), len(exe))],
            'tf.ndb': ['Tf.Clam.Body:0:*:' + b'CLAMessageBoxA'.hex()]}


def write_tree(d, files):
    os.mkdir(d)
    for name, data in files.items():
        with open(os.path.join(d, name), 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data if isinstance(data, bytes) else ''.join(line + '\n' for line in data))


def clamscan(db, files_dir, names):
    r = subprocess.run(['clamscan', '-d', db, '--no-summary', '--allmatch', '--max-filesize=10M',
                        files_dir], capture_output=True, text=True, timeout=60)
    if r.returncode not in (0, 1):
        sys.exit('clamscan failed (%d): %s' % (r.returncode, r.stderr or r.stdout))
    found = {name: set() for name in names}
    for line in r.stdout.splitlines():
        path, _, verdict = line.rpartition(': ')
        name = os.path.basename(path)
        if verdict.endswith(' FOUND'):
            # clamscan marks signatures from databases it did not sign itself
            found[name].add(verdict[:-len(' FOUND')].removesuffix('.UNOFFICIAL'))
        elif verdict != 'OK':
            sys.exit('clamscan: unexpected line ' + line)
    return found


def sluice(tmp, db, files):
    policy = os.path.join(tmp, 'policy', 'clamav.rules')
    os.mkdir(os.path.dirname(policy))
    report = os.path.join(tmp, 'report.txt')
    r = subprocess.run([CTL, 'rules', 'import-clamav', db, '-o', policy, '--report', report],
                       capture_output=True, text=True, timeout=60)
    print(r.stderr.strip())
    skipped = [l for l in open(report) if not l.startswith('#')]
    if r.returncode != 0 or skipped:
        sys.exit('import-clamav failed or skipped signatures:\n' + ''.join(skipped))
    os.mkdir(os.path.join(tmp, 'eml'))
    msgs = []
    for name, data in files.items():
        p = os.path.join(tmp, 'eml', name + '.eml')
        with open(p, 'wb') as f:
            f.write(eml_with_attachment(data, name))
        msgs.append(p)
    r = subprocess.run([CTL, 'rules', 'test', '--json', policy, *msgs],
                       capture_output=True, text=True, timeout=60)
    found = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        # part 2 is the attachment; archive members are its sub-parts (2.1, ...)
        found[os.path.basename(v['file'])[:-4]] = {
            e['match'] for h in v['rules'] for e in h['evidence']
            if e['part'] == '2' or e['part'].startswith('2.')}
    if r.returncode != 0 or len(found) != len(files):
        sys.exit('rules test failed (%d): %s' % (r.returncode, r.stderr))
    return found


def compare(title, db_files, files):
    """Runs both; returns (clamscan's, Sluice's) detections and prints the table."""
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, 'db')
        write_tree(db, db_files)
        write_tree(os.path.join(tmp, 'files'), files)
        clam = clamscan(db, os.path.join(tmp, 'files'), files)
        ours = sluice(tmp, db, files)
    print('\n%s\n%-26s %-32s %-32s' % (title, 'file', 'clamscan', 'sluice'))
    for name in files:
        a, b = ','.join(sorted(clam[name])) or '-', ','.join(sorted(ours[name])) or '-'
        print('%-26s %-32s %-32s%s' % (name, a, b, '' if a == b else '  DIFFER'))
    same = sum(clam[n] == ours[n] for n in files)
    print('%d of %d files agree; clamscan detects %d, Sluice %d' %
          (same, len(files), sum(bool(clam[n]) for n in files), sum(bool(ours[n]) for n in files)))
    return clam, ours


def main():
    if not shutil.which('clamscan') or not os.path.exists(CLAM_EXE):
        print('clamscan or clamav-testfiles is not installed (tools/lib/packages.txt lists both)')
        return 1
    fails = []
    db = {'agr.ndb': NDB, 'agr.ldb': LDB, 'agr.hdb': HDB, 'agr.hsb': HSB}
    clam, ours = compare('generated files', db, FILES)
    fails += ['%s differs' % n for n in FILES if clam[n] != ours[n]]
    # the sample must exercise every signature, or agreement proves little
    nsig = len(NDB) + len(LDB) + len(HDB) + len(HSB)
    if len(set().union(*clam.values())) != nsig:
        fails.append('some signature is never reported by clamscan: the sample is wrong')

    tf = {n: open(os.path.join(TESTFILES, n), 'rb').read() for n in sorted(os.listdir(TESTFILES))}
    clam, ours = compare('clamav-testfiles (%s)' % TESTFILES, testfiles_db(), tf)
    fails += ['%s: Sluice finds %s, not %s' % (n, ours[n], w)
              for n, w in TESTFILES_SLUICE_FINDS.items() if ours[n] != w or not w <= clam[n]]
    for sig in sorted(set().union(*clam.values())):
        print('%s: clamscan %d files, Sluice %d' % (sig, sum(sig in clam[n] for n in tf),
                                                   sum(sig in ours[n] for n in tf)))
    fails += ['%s: Sluice reports more than clamscan' % n for n in tf if not ours[n] <= clam[n]]
    for f in fails:
        print('FAIL ' + f)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
