"""Filler prose in English and Chinese (Traditional or Simplified), built from the word
lists, with chosen marker keywords planted in it.

A paragraph is a list of tokens; `wrap` breaks it into lines at token boundaries so a
planted keyword is never split by a line break."""

import functools
import random

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


@functools.lru_cache(maxsize=None)
def sentence_bank(lang):
	"""BANK_SIZE sentences (token lists) for lang 'en', 'hant' or 'hans'. The bank is the
	same for every corpus (a fixed "language"); seeds choose from it."""
	v = vocabulary()
	rng = random.Random(f'bank:{lang}')
	if lang == 'en':
		return [_english_sentence(rng, v) for _ in range(BANK_SIZE)]
	return [_chinese_sentence(rng, v, lang) for _ in range(BANK_SIZE)]


def paragraph_tokens(rng, bank, nsentences, plant=()):
	"""Tokens of one paragraph of nsentences bank sentences, the plant words inserted."""
	sents = rng.choices(bank, k=nsentences)
	for kw in plant:
		k = int(rng.random() * len(sents))
		s = list(sents[k])
		s.insert(int(rng.random() * (len(s) + 1)), kw)
		sents[k] = s
	return [t for s in sents for t in s]


def wrap(tokens, sep):
	"""Lines of at most about EN_WIDTH (sep ' ') or ZH_WIDTH (sep '') characters."""
	width = EN_WIDTH if sep else ZH_WIDTH
	gap = len(sep)
	lines, start, n = [], 0, -gap
	for i, size in enumerate(map(len, tokens)):
		if n + gap + size > width and i > start:
			lines.append(sep.join(tokens[start:i]))
			start, n = i, size
		else:
			n += gap + size
	lines.append(sep.join(tokens[start:]))
	return lines


class Prose:
	"""Paragraphs of one language, sized to a byte budget, with keywords planted."""

	def __init__(self, rng, lang, nbytes, plant=()):
		# lang: 'en', 'hant' or 'hans'
		self.lang = lang
		self.sep = ' ' if lang == 'en' else ''
		bank = sentence_bank(lang)
		self.paragraphs = []   # each a list of tokens
		plant = list(plant)
		size = 0
		while size < nbytes or plant:
			take, plant = plant[:2], plant[2:]
			toks = paragraph_tokens(rng, bank, 2 + int(rng.random() * 6), take)
			if lang == 'en':
				size += sum(map(len, toks)) + len(toks)
			else:
				size += 3 * sum(map(len, toks))
			self.paragraphs.append(toks)
		self.wrapped = [wrap(toks, self.sep) for toks in self.paragraphs]

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
