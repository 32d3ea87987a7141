#!/usr/bin/python3
"""sluice-dp --spam-model: messages of the fixed spam sample sent in a capture
(tools/trafficgen) and read by sluice-dp --offline with a policy whose spam-probability
rule names one model and --spam-model naming another (trained with the labels swapped):
each written message's verdict has the probability `sluicectl rules test --spam-model`
gives for the same file, and not the one of the policy's own model; the verdicts' bundle
digest differs from a run without the override (they say which model judged them); a
--spam-model that is not a model stops sluice-dp with a message naming it."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402

TRAFFICGEN = os.path.join(dputil.SOURCE, 'tools', 'trafficgen')
CTL = os.path.join(dputil.BUILD, 'control', 'sluicectl')
SAMPLE = os.path.join(dputil.SOURCE, 'tests', 'data', 'spam-sample')


def prob(policy, f, model=None):
    r = subprocess.run([CTL, 'rules', 'test', '--json', policy, f] + (['--spam-model', model] if model else []),
                       capture_output=True, text=True, check=True, timeout=120)
    return json.loads(r.stdout)['spam_probability']


def main():
    d = tempfile.mkdtemp(prefix='dp-spam-model.')
    problems = []
    try:
        test = []
        for cls in ('ham', 'spam'):
            names = sorted(n for n in os.listdir(os.path.join(SAMPLE, cls)) if n.endswith('.eml'))
            for i, n in enumerate(names):
                if i % 2:
                    test.append(os.path.join(SAMPLE, cls, n))
                    continue
                os.makedirs(os.path.join(d, 'train', cls), exist_ok=True)
                os.symlink(os.path.join(SAMPLE, cls, n), os.path.join(d, 'train', cls, n))
        for name, spam, ham in (('own.model', 'spam', 'ham'), ('swapped.model', 'ham', 'spam')):
            subprocess.run([CTL, 'spam', 'train', '--spam', os.path.join(d, 'train', spam), '--ham',
                            os.path.join(d, 'train', ham), '--out', os.path.join(d, name), '--min-count', '1'],
                           check=True, capture_output=True, timeout=120)
        policy = os.path.join(d, 'p.rules')
        open(policy, 'w').write('spam-model "own.model"\n'
                                'rule bayes { match spam-probability >= 0.5 score 1 }\n')
        pcap, out = os.path.join(d, 'mail.pcap'), os.path.join(d, 'out')
        subprocess.run([TRAFFICGEN, '-q', '-o', pcap, '--seed', '7', '--sessions', '20'] + test,
                       check=True, timeout=300)
        r = subprocess.run([dputil.DP, '--offline', pcap, '--rules', policy, '--spam-model',
                            os.path.join(d, 'swapped.model'), '--dump-messages', out],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            problems.append(f'sluice-dp exit {r.returncode}: {r.stderr.strip()}')
        lines = [json.loads(x) for x in open(os.path.join(out, 'verdicts.jsonl'))] if r.returncode == 0 else []
        written = [v for v in lines if v['file']]
        if len(written) != len(test):
            problems.append(f'{len(written)} messages written, {len(test)} sent')
        differ = 0
        for v in written:
            f = os.path.join(out, v['file'])
            got = v['verdict'].get('spam_probability')
            want = prob(policy, f, os.path.join(d, 'swapped.model'))
            own = prob(policy, f)
            differ += abs(own - want) > 1e-3
            if got is None or abs(got - want) > 1e-6:
                problems.append(f'{v["file"]}: sluice-dp says {got}, rules test --spam-model {want}')
        if written and differ < len(written) // 2:
            problems.append(f'only {differ} of {len(written)} messages score differently under the two models')
        # the verdicts say which model judged them: the override is in their bundle digest
        plain = subprocess.run([dputil.DP, '--offline', pcap, '--rules', policy, '--dump-messages',
                                os.path.join(d, 'out-own')], capture_output=True, text=True, timeout=300)
        own = [json.loads(x) for x in open(os.path.join(d, 'out-own', 'verdicts.jsonl'))] \
            if plain.returncode == 0 else []
        over_digests = {v['bundle']['digest'] for v in lines}
        own_digests = {v['bundle']['digest'] for v in own}
        if len(over_digests) != 1 or len(own_digests) != 1 or over_digests == own_digests or \
                '' in over_digests | own_digests:
            problems.append(f'bundle digests with --spam-model {over_digests}, without {own_digests}: '
                            'want one each, different')
        bad = subprocess.run([dputil.DP, '--offline', pcap, '--rules', policy, '--spam-model', policy,
                              '--dump-messages', os.path.join(d, 'out2')],
                             capture_output=True, text=True, timeout=300)
        if bad.returncode == 0 or 'not a Sluice spam model' not in bad.stderr:
            problems.append(f'a --spam-model that is no model: exit {bad.returncode}, {bad.stderr.strip()!r}')
        print(f'{"ok" if not problems else "FAIL"}: {len(written)} messages, {differ} scored differently '
              'by the override than by the policy\'s own model')
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for p in problems:
        print('   ', p)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
