#!/usr/bin/env python3
"""The statistical classifier from the command line: `sluicectl spam train` on a corpus
written here (.eml files and an mbox) gives a model whose header, checksum, order and
per-token counts are checked against an independent reading (FNV-1a computed here);
--min-count drops rare tokens; bad input is a clear error and writes no model; a policy
using `spam-probability` gives, through `rules test` (a rules file, a bundle that carries
the model, and --spam-model), the probability `spam score` gives; and the fixed sample
(tests/data/spam-sample, two folds: train on one half, test on the other) separates spam
from ham at least as well as measured when this was written (docs/spam.md)."""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from sluicetest import check, exit_code  # noqa: E402

SRC = os.environ.get('SLUICE_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('SLUICE_BUILD_ROOT', os.path.join(SRC, 'build'))
CTL = os.path.join(BUILD, 'control', 'sluicectl')
SAMPLE = os.path.join(SRC, 'tests', 'data', 'spam-sample')


def run(*args):
    return subprocess.run([CTL] + list(args), capture_output=True, text=True, timeout=300)


def fnv(word):
    h = 2166136261
    for b in word.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h or 1


def read_model(path):
    b = open(path, 'rb').read()
    magic, version, robx, robs, nspam, nham, ntok, min_dev, _ = struct.unpack('<8sIHHIIIHH', b[:32])
    table = b[64:]
    entries = [struct.unpack('<III', table[i:i + 12]) for i in range(0, len(table), 12)]
    return {'magic': magic, 'version': version, 'nspam': nspam, 'nham': nham, 'ntokens': ntok,
            'constants': (robx, robs, min_dev),
            'sha_ok': hashlib.sha256(table).digest() == b[32:64], 'entries': entries,
            'len_ok': len(table) == 12 * ntok}


def msg(subject, body):
    return f'From: a@example.org\r\nTo: b@example.net\r\nSubject: {subject}\r\n\r\n{body}\r\n'


def probabilities(out):
    got = {}
    for line in out.splitlines():
        name, rest = line.split(': spam-probability ', 1)
        got[name] = float(rest.split()[0])
    return got


def corpus(d):
    for cls, subj, words in (('spam', 'cheap pills', 'buy cheap pills now viagra offer'),
                             ('ham', 'meeting agenda', 'please review the agenda for the meeting')):
        os.makedirs(os.path.join(d, cls))
        for i in range(3):
            open(os.path.join(d, cls, f'{i}.eml'), 'w').write(msg(subj, f'{words} unique{cls}{i}'))
    # an mbox of two more ham messages, and a file that is neither, skipped with a note
    open(os.path.join(d, 'ham', 'box'), 'w').write(
        'From x Mon Jan  1 00:00:00 2024\n' + msg('lunch', 'agenda lunch today') +
        'From y Mon Jan  1 00:00:00 2024\n' + msg('lunch', 'agenda lunch tomorrow'))
    open(os.path.join(d, 'ham', 'README'), 'w').write('not mail\n')


def test_train(d):
    corpus(d)
    model = os.path.join(d, 'm.model')
    r = run('spam', 'train', '--spam', os.path.join(d, 'spam'), '--ham', os.path.join(d, 'ham'),
            '--out', model, '--min-count', '1')
    check(r.returncode == 0, f'train exits 0 ({r.stderr.strip()})')
    check('README: skipped: neither a .eml file nor an mbox' in r.stderr, 'a file that is no mail is named')
    m = read_model(model)
    check(m['magic'] == b'SLBAYES\0' and m['version'] == 2, 'header magic and version')
    check(m['constants'] == (5200, 178, 3750), f'bogofilter\'s x, s, min_dev in 1/10000: {m["constants"]}')
    check((m['nspam'], m['nham']) == (3, 5), f'3 spam, 5 ham (3 .eml + 2 in the mbox): {m["nspam"]}, {m["nham"]}')
    check(m['sha_ok'] and m['len_ok'], 'SHA-256 of the table and its length match the header')
    hashes = [e[0] for e in m['entries']]
    check(hashes == sorted(set(hashes)), 'table sorted by hash, each once')
    counts = {e[0]: (e[1], e[2]) for e in m['entries']}
    for word, want in (('cheap', (3, 0)), ('pills', (3, 0)), ('agenda', (0, 5)), ('meeting', (0, 3)),
                       ('lunch', (0, 2)), ('uniquespam0', (1, 0))):
        check(counts.get(fnv(word)) == want, f'{word}: {want} (got {counts.get(fnv(word))})')
    check(fnv('the') in counts and fnv('for') in counts, 'three-letter words are tokens')
    r = run('spam', 'train', '--spam', os.path.join(d, 'spam'), '--ham', os.path.join(d, 'ham'),
            '--out', model + '2')
    m2 = read_model(model + '2')
    c2 = {e[0]: (e[1], e[2]) for e in m2['entries']}
    check(fnv('uniquespam0') not in c2 and c2.get(fnv('cheap')) == (3, 0),
          'default --min-count 2 drops tokens of one message, keeps the others')
    # scoring: a message like the spam, one like the ham
    open(os.path.join(d, 's.eml'), 'w').write(msg('cheap pills', 'buy cheap pills now'))
    open(os.path.join(d, 'h.eml'), 'w').write(msg('meeting', 'review the agenda'))
    r = run('spam', 'score', model, os.path.join(d, 's.eml'), os.path.join(d, 'h.eml'))
    p = probabilities(r.stdout)
    check(r.returncode == 0 and p[os.path.join(d, 's.eml')] > 0.99 and p[os.path.join(d, 'h.eml')] < 0.01,
          f'spam-like scores high, ham-like low: {p}')
    # constants chosen at training travel in the model and change the scores
    tuned = model + '.tuned'
    r = run('spam', 'train', '--spam', os.path.join(d, 'spam'), '--ham', os.path.join(d, 'ham'),
            '--out', tuned, '--min-count', '1', '--robx', '0.4', '--robs', '1', '--min-dev', '0.1')
    check(r.returncode == 0 and 'x 0.4, s 1, min_dev 0.1' in r.stdout, f'train with constants: {r.stdout.strip()}')
    mt = read_model(tuned)
    check(mt['constants'] == (4000, 10000, 1000) and mt['entries'] == m['entries'],
          f'the constants in the header, the same table: {mt["constants"]}')
    r = run('spam', 'score', tuned, os.path.join(d, 's.eml'), os.path.join(d, 'h.eml'))
    pt = probabilities(r.stdout)
    check(r.returncode == 0 and all(abs(pt[f] - p[f]) > 1e-3 for f in p),
          f'other constants, other probabilities: {pt} vs {p}')
    return model, p


def test_policy(d, model, p):
    pol = os.path.join(d, 'p.rules')
    open(pol, 'w').write('spam-model "m.model"\n'
                         'rule bayes.spam { match spam-probability >= 0.9 score 5 }\n'
                         'threshold 5 quarantine\n')
    s, h = os.path.join(d, 's.eml'), os.path.join(d, 'h.eml')
    r = run('rules', 'test', '--json', pol, s, h)
    v = {json.loads(l)['file']: json.loads(l) for l in r.stdout.splitlines()}
    check(r.returncode == 0 and abs(v[s]['spam_probability'] - p[s]) < 1e-6 and
          abs(v[h]['spam_probability'] - p[h]) < 1e-6, 'rules test gives spam score\'s probabilities')
    check(v[s]['verdict'] == 'quarantine' and v[h]['verdict'] == 'pass', 'the spam-probability rule decides')
    bundle = os.path.join(d, 'p.bundle')
    r = run('rules', 'compile', pol, '-o', bundle)
    check(r.returncode == 0, 'the policy compiles to a bundle')
    os.rename(model, model + '.away')
    r = run('rules', 'test', '--json', bundle, s)
    check(r.returncode == 0 and abs(json.loads(r.stdout)['spam_probability'] - p[s]) < 1e-6,
          'the bundle carries the model (its file moved away)')
    # --spam-model: a model with the labels swapped turns the verdicts round
    r = run('spam', 'train', '--spam', os.path.join(d, 'ham'), '--ham', os.path.join(d, 'spam'),
            '--out', os.path.join(d, 'swapped.model'), '--min-count', '1')
    r = run('rules', 'test', '--json', bundle, s, h, '--spam-model', os.path.join(d, 'swapped.model'))
    v = {json.loads(l)['file']: json.loads(l) for l in r.stdout.splitlines()}
    check(r.returncode == 0 and v[s]['verdict'] == 'pass' and v[h]['verdict'] == 'quarantine',
          '--spam-model replaces the bundle\'s model')
    os.rename(model + '.away', model)


def test_errors(d):
    spam, ham = os.path.join(d, 'spam'), os.path.join(d, 'ham')
    out = os.path.join(d, 'e.model')
    cases = [
        (['--spam', os.path.join(d, 'nope'), '--ham', ham], 1, 'nope: No such file or directory'),
        (['--spam', spam], 2, 'usage'),
        (['--spam', spam, '--ham', os.path.join(d, 'empty')], 1, 'no ham message found'),
        (['--spam', spam, '--ham', ham, '--min-count', 'x'], 2, '--min-count is a number'),
        (['--spam', spam, '--ham', ham, '--robx', '1'], 2, '--robx is a number above 0 and below 1'),
        (['--spam', spam, '--ham', ham, '--robs', '0'], 2, '--robs is a number above 0'),
        (['--spam', spam, '--ham', ham, '--min-dev', '0.5'], 2, '--min-dev is a number from 0'),
        (['--spam', spam, '--ham', ham, '--min-dev', '0.12345'], 2, 'in steps of 0.0001'),
    ]
    os.makedirs(os.path.join(d, 'empty'))
    for args, rc, want in cases:
        r = run('spam', 'train', *args, '--out', out)
        check(r.returncode == rc and want in r.stderr and not os.path.exists(out),
              f'train {" ".join(os.path.basename(a) for a in args)}: exit {rc}, "{want}", no model '
              f'(got {r.returncode}: {r.stderr.strip()[:100]})')
    bad = os.path.join(d, 'bad.model')
    b = bytearray(open(os.path.join(d, 'm.model'), 'rb').read())
    b[-1] ^= 1
    open(bad, 'wb').write(b)
    r = run('spam', 'score', bad, os.path.join(d, 's.eml'))
    check(r.returncode == 1 and 'checksum' in r.stderr, f'a corrupt model is refused: {r.stderr.strip()}')
    pol = os.path.join(d, 'bad.rules')
    open(pol, 'w').write('spam-model "bad.model"\nrule r { match spam-probability >= 0.5 score 1 }\n')
    r = run('rules', 'check', pol)
    check(r.returncode != 0 and 'bad.rules:1:12: spam model \'bad.model\'' in r.stderr,
          f'a policy naming a corrupt model: file:line:col ({r.stderr.strip()})')


def test_sample(d):
    """Two folds over the 40 messages (10 of each class train, 10 test). Measured when
    written: at p >= 0.9, 5 of 20 spam caught and no ham; all 20 spam at >= 0.5 and 8 of
    20 ham too; the probability ranks a spam above a ham in 91.5 % of pairs. Ten
    messages per class are too few for the 0.9 cutoff to catch much; the test guards
    the ranking and the cutoff against regressions, it does not measure quality
    (tools/bench spam does, on 3,377 messages). Bounds are the measured values: the
    program and sample are deterministic."""
    probs = []
    for fold in (0, 1):
        f = os.path.join(d, f'fold{fold}')
        for cls in ('ham', 'spam'):
            names = sorted(os.listdir(os.path.join(SAMPLE, cls)))
            names = [n for n in names if n.endswith('.eml')]
            for i, n in enumerate(names):
                part = 'train' if (i + fold) % 2 == 0 else 'test'
                os.makedirs(os.path.join(f, part, cls), exist_ok=True)
                os.symlink(os.path.join(SAMPLE, cls, n), os.path.join(f, part, cls, n))
        model = os.path.join(f, 'model')
        r = run('spam', 'train', '--spam', os.path.join(f, 'train', 'spam'), '--ham',
                os.path.join(f, 'train', 'ham'), '--out', model, '--min-count', '1')
        check(r.returncode == 0, f'fold {fold} trains')
        r = run('spam', 'score', model, os.path.join(f, 'test', 'spam'), os.path.join(f, 'test', 'ham'))
        probs += [('/spam/' in k, v) for k, v in probabilities(r.stdout).items()]
    check(len(probs) == 40, f'40 messages scored ({len(probs)})')
    spam = [p for s, p in probs if s]
    ham = [p for s, p in probs if not s]
    caught = sum(p >= 0.9 for p in spam)
    flagged = sum(p >= 0.9 for p in ham)
    auc = sum((a > b) + 0.5 * (a == b) for a in spam for b in ham) / (len(spam) * len(ham))
    print(f'     sample: p >= 0.9: {caught}/20 spam, {flagged}/20 ham; >= 0.5: '
          f'{sum(p >= 0.5 for p in spam)}/20 spam, {sum(p >= 0.5 for p in ham)}/20 ham; ranking {auc:.3f}')
    check(caught >= 5 and flagged == 0, 'p >= 0.9: at least 5 of 20 spam, no ham')
    check(auc >= 0.915, 'spam ranked above ham in at least 91.5 % of pairs')


def main():
    d = tempfile.mkdtemp(prefix='spam-classifier.')
    try:
        model, p = test_train(d)
        test_policy(d, model, p)
        test_errors(d)
        test_sample(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(exit_code())


if __name__ == '__main__':
    main()
