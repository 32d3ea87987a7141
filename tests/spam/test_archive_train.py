#!/usr/bin/env python3
"""Training the classifier from archive searches (docs/spam.md, "Training from the
archive"): messages imported into a temporary archive under two sources (a users' Junk
folder and their inboxes, plus a third that belongs to neither), exported by query as
an mbox and as a directory of .eml files, and given to `sluicectl spam train`, give the
model that training on the original files gives, byte for byte. The export is audited
with its query and ids; a bad query or ids together with a query are refused."""
import filecmp
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'archive'))
import archive_env  # noqa: E402
from archive_env import expect  # noqa: E402

ARCHIVE = sys.argv[1]
CTL = sys.argv[2]

SPAM = [('cheap pills today', 'Buy cheap pills now, viagra offer {i}.\nFrom our pharmacy, '
         'the best price.\n'),
        ('you won the lottery', 'Claim your prize {i}: send your bank details.\n'
         '>From the lottery office.\n'),
        ('hot singles', '<html><body><p>Meet singles {i} <b>tonight</b></p></body></html>\n')]
HAM = [('meeting agenda', 'Please review the agenda {i} for the meeting on Tuesday.\n'),
       ('lunch', 'Lunch at noon {i}? From what I hear the new place is good.\n'),
       ('build failure', 'The nightly build {i} failed in the archive tests.\n')]
OTHER = [('newsletter', 'This week {i}: pills, lottery, agenda and lunch all at once.\n')]


def message(n, subject, body, html=False):
    ctype = 'text/html' if html else 'text/plain'
    return (f'From: sender{n}@example.org\r\nTo: user{n}@example.net\r\n'
            f'Subject: {subject} {n}\r\nMessage-ID: <m{n}@example.org>\r\n'
            f'Date: Mon, 1 Jan 2024 00:{n % 60:02d}:00 +0000\r\n'
            f'Content-Type: {ctype}; charset=utf-8\r\n\r\n' +
            body.replace('\n', '\r\n'))


def write_corpus(d, name, kinds, first, count):
    """count messages cycling through kinds into d/name/*.eml, numbered from first."""
    path = os.path.join(d, name)
    os.makedirs(path)
    for k in range(count):
        n = first + k
        subject, body = kinds[k % len(kinds)]
        with open(os.path.join(path, f'{n:03d}.eml'), 'w', newline='') as f:
            f.write(message(n, subject, body.format(i=n), html=body.startswith('<html>')))
    return path


def archive(*args, check=True):
    p = subprocess.run([ARCHIVE, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit('sluice-archive %s failed (%d)' % (args[0], p.returncode))
    return p


def train(spam, ham, out):
    p = subprocess.run([CTL, 'spam', 'train', '--spam', spam, '--ham', ham, '--out', out],
                       capture_output=True, text=True, timeout=120)
    expect(p.returncode == 0, 'spam train %s / %s: exit 0 (%s)' % (
        os.path.basename(spam), os.path.basename(ham), p.stderr.strip()[-200:]))
    return p.returncode == 0


def counts(model):
    nspam, nham, ntokens = struct.unpack('<III', open(model, 'rb').read()[16:28])
    return nspam, nham, ntokens


def main():
    with tempfile.TemporaryDirectory() as work:
        key = os.path.join(work, 'archive.key')
        archive('keygen', key)
        os.environ['SLUICE_ARCHIVE_KEY'] = key
        corpus = os.path.join(work, 'corpus')
        spam = write_corpus(corpus, 'junk', SPAM, 0, 12)
        ham = write_corpus(corpus, 'inbox', HAM, 100, 15)
        other = write_corpus(corpus, 'lists', OTHER, 200, 4)
        data = os.path.join(work, 'data')
        for source, path in (('junk', spam), ('inbox', ham), ('lists', other)):
            archive('import', '--data', data, '--source', source, path)

        exported_mbox = os.path.join(work, 'spam.mbox')
        exported_dir = os.path.join(work, 'ham-export')
        p = archive('export', '--data', data, '--query', 'source:junk', '--mbox', exported_mbox)
        expect(p.stdout.strip() == '12 messages matched', 'spam export: 12 matched (%s)'
               % p.stdout.strip())
        p = archive('export', '--data', data, '--query', 'source:inbox', '--eml', exported_dir)
        expect(p.stdout.strip() == '15 messages matched', 'ham export: 15 matched (%s)'
               % p.stdout.strip())
        names = sorted(os.listdir(exported_dir))
        expect(len(names) == 15 and all(n.endswith('.eml') for n in names),
               'ham export: 15 .eml files')
        # the .eml export is byte-exact: each file is one of the originals
        originals = {open(os.path.join(ham, n), 'rb').read() for n in os.listdir(ham)}
        expect(all(open(os.path.join(exported_dir, n), 'rb').read() in originals for n in names),
               'ham export: every file is an original message byte for byte')
        # a query with a limit, and one matching nothing
        p = archive('export', '--data', data, '--query', 'source:junk', '--limit', '5',
                    '--eml', os.path.join(work, 'five'))
        expect(len(os.listdir(os.path.join(work, 'five'))) == 5, '--limit 5: five files')
        p = archive('export', '--data', data, '--query', 'source:nowhere', '--eml',
                    os.path.join(work, 'none'))
        expect(p.stdout.strip() == '0 messages matched' and
               os.listdir(os.path.join(work, 'none')) == [], 'no match: 0 and an empty folder')

        from_archive = os.path.join(work, 'archive.model')
        from_files = os.path.join(work, 'files.model')
        if train(exported_mbox, exported_dir, from_archive) and train(spam, ham, from_files):
            expect(counts(from_archive)[:2] == (12, 15), 'archive model: 12 spam, 15 ham (%s)'
                   % (counts(from_archive),))
            expect(filecmp.cmp(from_archive, from_files, shallow=False),
                   'model from the archive exports == model from the original files '
                   '(%s vs %s)' % (counts(from_archive), counts(from_files)))
        # the other way round: the lists are in neither model
        with_lists = os.path.join(work, 'lists.model')
        if train(exported_mbox, other, with_lists):
            expect(not filecmp.cmp(with_lists, from_files, shallow=False),
                   'a different ham set gives a different model (the comparison can fail)')

        # audited: the query and the ids, before anything left the store
        log = archive('audit', '--data', data).stdout
        entries = [l for l in log.splitlines() if '"action":"export"' in l]
        expect(len(entries) == 4 and '"query":"source:junk"' in entries[0] and
               '"ids":[' in entries[0] and '"ids":[]' not in entries[0],
               'audit: each export with its query and ids (%d entries)' % len(entries))

        # refusals
        p = archive('export', '--data', data, '--query', 'nope:x', '--mbox',
                    os.path.join(work, 'x.mbox'), check=False)
        expect(p.returncode == 2 and 'bad query' in p.stderr and
               not os.path.exists(os.path.join(work, 'x.mbox')), 'bad query: exit 2, no file')
        p = archive('export', '--data', data, '1', '--query', 'source:junk', '--mbox',
                    os.path.join(work, 'x.mbox'), check=False)
        expect(p.returncode == 2 and 'usage' in p.stderr, 'ids and a query together: usage, exit 2')
        p = archive('export', '--data', data, '--query', 'source:junk', '--limit', '-1',
                    '--mbox', os.path.join(work, 'x.mbox'), check=False)
        expect(p.returncode == 2 and 'not a count' in p.stderr, '--limit -1: refused')
    archive_env.finish('spam training from archive exports: ok')


main()
