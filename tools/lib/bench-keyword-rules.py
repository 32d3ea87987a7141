#!/usr/bin/python3
"""Writes N generated keyword rules (for tools/bench engine and the dataplane benchmark):
`rule bench.kw.NNNN { match SCOPE "KEYWORD" nocase; action alert }`. Most keywords are
made-up words that never occur; one in five is a pair of Chinese corpus phrases and one
in twenty a pair of English corpus words, so some fire. Deterministic for a seed.

usage: bench-keyword-rules.py N [SEED] >> policy.rules"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mailcorpus.vocab import vocabulary  # noqa: E402


def keyword(rng, i, v):
	if i % 5 == 0:
		script = rng.choice(('hant', 'hans'))
		return rng.choice(v.zh[script]) + rng.choice(v.zh[script])
	if i % 20 == 1:
		return rng.choice(v.en_words[40:]) + ' ' + rng.choice(v.en_words[40:])
	syll = [c + w for c in 'bcdfghjklmnprstvz' for w in 'aeiou']
	return ''.join(rng.choice(syll) for _ in range(rng.randint(3, 5)))


def main():
	n = int(sys.argv[1])
	rng = random.Random(f'bench-rules:{sys.argv[2] if len(sys.argv) > 2 else 1}')
	v = vocabulary()
	print(f'\n# ---- {n} generated keyword rules (tools/lib/bench-keyword-rules.py) ----')
	for i in range(n):
		scope = 'attachment' if i % 10 == 3 else 'header:subject' if i % 10 == 7 else 'text'
		kw = keyword(rng, i, v).replace('\\', '\\\\').replace('"', '\\"')
		print(f'rule bench.kw.{i:04d} {{ match {scope} "{kw}" nocase; action alert }}')


if __name__ == '__main__':
	main()
