"""Filler prose in English and Chinese (Traditional or Simplified), built from the word
lists, with chosen marker keywords planted in it.

Paragraphs are drawn from a fixed bank of sentences; `wrap` breaks them into lines at
token boundaries only, so a planted keyword is never split by a line break."""

import functools
import random
import re

from .vocab import vocabulary

EN_WIDTH = 72
ZH_WIDTH = 34   # characters; a Chinese character is about two columns wide


BANK_SIZE = 20000   # sentences per language; paragraphs are drawn from the bank (speed)


def _english_sentence(rng, v):
	rand = rng.random
	sent = rng.choices(v.en_words, cum_weights=v.en_cum, k=5 + int(rand() * 12))
	sent[0] = sent[0].capitalize()
	if len(sent) > 8 and rand() < 0.3:
		sent[3 + int(rand() * (len(sent) - 6))] += ','
	if rand() < 0.08:
		sent.insert(1 + int(rand() * len(sent)), str(2 + int(rand() * 99997)))
	sent[-1] += '?' if rand() < 0.1 else '.'
	return sent


def _chinese_sentence(rng, v, script):
	rand = rng.random
	phrases = rng.choices(v.zh[script], cum_weights=v.zh_cum, k=4 + int(rand() * 14))
	cut = 3 + int(rand() * (len(phrases) - 3))
	if cut < len(phrases) - 1:
		phrases[cut - 1] += '，'
	phrases[-1] += '。'
	return phrases


# Token boundaries inside a paragraph string: a space in English; in Chinese, where
# tokens are written together, a NUL that the line breaker removes.
_SEP = {'en': ' ', 'hant': '\0', 'hans': '\0'}
_LINE = {'en': re.compile(r'(.{1,%d})(?: |$)' % EN_WIDTH),
         # the NULs count as characters here: about one per two Chinese characters
         'zh': re.compile(r'(.{1,%d})(?:\0|$)' % (ZH_WIDTH * 3 // 2))}


@functools.lru_cache(maxsize=None)
def sentence_bank(lang):
	"""BANK_SIZE sentences for lang 'en', 'hant' or 'hans', as (tokens, joined string).
	The bank is the same for every corpus (a fixed "language"); seeds choose from it."""
	v = vocabulary()
	rng = random.Random(f'bank:{lang}')
	make = _english_sentence if lang == 'en' else lambda r, v: _chinese_sentence(r, v, lang)
	sep = _SEP[lang]
	return [(toks, sep.join(toks)) for toks in (make(rng, v) for _ in range(BANK_SIZE))]


def paragraph(rng, lang, nsentences, plant=()):
	"""One paragraph string of nsentences bank sentences (tokens joined by the language's
	separator), the plant words inserted between tokens."""
	bank = sentence_bank(lang)
	sents = [s for _, s in rng.choices(bank, k=nsentences)]
	sep = _SEP[lang]
	for kw in plant:
		k = int(rng.random() * len(sents))
		toks = sents[k].split(sep)
		toks.insert(int(rng.random() * (len(toks) + 1)), kw)
		sents[k] = sep.join(toks)
	return sep.join(sents)


def wrap(para, lang):
	"""Lines of at most EN_WIDTH (English) or ZH_WIDTH (Chinese) characters, broken only
	at token boundaries."""
	if lang == 'en':
		return _LINE['en'].findall(para)
	return [line.replace('\0', '') for line in _LINE['zh'].findall(para)]


class Prose:
	"""Paragraphs of one language, sized to a byte budget, with keywords planted."""

	def __init__(self, rng, lang, nbytes, plant=()):
		# lang: 'en', 'hant' or 'hans'
		self.lang = lang
		self.wrapped = []   # each paragraph as its lines
		plant = list(plant)
		size = 0
		per_char = 1 if lang == 'en' else 3
		while size < nbytes or plant:
			take, plant = plant[:2], plant[2:]
			para = paragraph(rng, lang, 2 + int(rng.random() * 6), take)
			lines = wrap(para, lang)
			size += per_char * sum(map(len, lines)) + len(lines)
			self.wrapped.append(lines)

	def lines(self):
		"""Plain-text lines, paragraphs separated by a blank line."""
		out = []
		for lines in self.wrapped:
			if out:
				out.append('')
			out.extend(lines)
		return out

	def html_paragraphs(self):
		"""One string per paragraph, wrapped into lines (8bit bodies keep lines short)."""
		return ['\n'.join(lines) for lines in self.wrapped]
