"""The word lists under data/, loaded once and checked (every Chinese form must encode in
the charsets the generator sends it in)."""

import functools
import itertools
from pathlib import Path

DATA = Path(__file__).resolve().parent / 'data'


def _rows(name, fields=None):
	"""Non-comment, non-blank lines of a data file, split on tabs (or spaces)."""
	with open(DATA / name, encoding='utf-8') as f:
		for line in f:
			line = line.rstrip('\n')
			if not line.strip() or line.startswith('#'):
				continue
			row = line.split('\t') if '\t' in line else line.split(' ', 1)
			if fields is not None and len(row) != fields:
				raise ValueError(f'{name}: expected {fields} fields: {line!r}')
			yield row


def _unique(seq):
	seen = set()
	return [x for x in seq if not (x in seen or seen.add(x))]


def _zipf_cum_weights(n, offset=4.0):
	"""Cumulative weights 1/(rank+offset): a rough Zipf law for word frequencies."""
	return list(itertools.accumulate(1.0 / (r + offset) for r in range(n)))


class Vocabulary:
	def __init__(self):
		self.en_words = _unique(r[0] for r in _rows('en-words.txt'))
		self.en_cum = _zipf_cum_weights(len(self.en_words))
		zh = list(_rows('zh-phrases.tsv', 2))
		self.zh = {'hant': [t for t, _ in zh], 'hans': [s for _, s in zh]}
		self.zh_cum = _zipf_cum_weights(len(zh), offset=20.0)
		self.kw_en = [r[0] for r in _rows('keywords-en.txt')]
		kz = list(_rows('keywords-zh.tsv', 2))
		self.kw_zh = {'hant': [t for t, _ in kz], 'hans': [s for _, s in kz]}
		names = list(_rows('names-en.txt', 2))
		self.first_en = [v for k, v in names if k == 'first']
		self.last_en = [v for k, v in names if k == 'last']
		zn = list(_rows('names-zh.tsv', 4))
		self.surnames_zh = [(t, s, r) for k, t, s, r in zn if k == 'surname']
		self.given_zh = [(t, s, r) for k, t, s, r in zn if k == 'given']
		subj = list(_rows('subjects.tsv', 2))
		self.subjects = {'en': [t for l, t in subj if l == 'en'],
		                 'zh': [t for l, t in subj if l == 'zh']}
		dom = list(_rows('domains.txt', 2))
		self.internal_domains = [d for k, d in dom if k == 'internal']
		self.external_domains = [d for k, d in dom if k == 'external']
		self._check()

	def _check(self):
		clash = set(self.kw_en) & set(self.en_words)
		if clash:
			raise ValueError(f'marker keywords also in en-words.txt: {sorted(clash)}')
		for script, codec in (('hant', 'big5'), ('hans', 'gb2312')):
			forms = self.zh[script] + self.kw_zh[script]
			forms += [n[0 if script == 'hant' else 1] for n in self.surnames_zh + self.given_zh]
			for w in forms:
				w.encode(codec)  # raises UnicodeEncodeError naming the phrase


@functools.lru_cache(maxsize=1)
def vocabulary():
	return Vocabulary()
