#!/usr/bin/python3
"""Checks a corpus written by tools/corpus against its own index with Python's `email`
package (policy=default) as the independent reader:

  - every message has CRLF line ends only, lines <= 998 bytes, ASCII headers (unless
    the index says SMTPUTF8), and its sha256/size match the index;
  - subject, From address, leaf parts (path order, content type, charset, filename,
    disposition, decoded size and SHA-256) match the index;
  - the marker keywords the index lists are exactly those in the decoded subject and
    text parts; the DLP values it lists are checksum-valid and present, the decoys
    invalid and present (keyword matching, Luhn and the Taiwan ID checksum are this
    checker's own, written from their definitions, not the generator's functions);
  - duplicates are byte-identical to their original, re-sent attachments have the
    source part's SHA-256;
  - the mbox, when given, holds the same messages.

usage: check_corpus.py DIR [--mbox FILE]
"""

import argparse
import email
import email.policy
import hashlib
import json
import mailbox
import os
import re
import sys

# The marker keyword lists are data (the generator's ground truth), read here directly.
WORDS = os.path.join(os.environ.get('SLUICE_SOURCE_ROOT', os.path.join(
	os.path.dirname(__file__), '..', '..')), 'tools', 'mailcorpus', 'data')

failures = []


def data_rows(name):
	with open(os.path.join(WORDS, name), encoding='utf-8') as f:
		return [line.rstrip('\n').split('\t') for line in f
		        if line.strip() and not line.startswith('#')]


KW_EN = [r[0] for r in data_rows('keywords-en.txt')]
KW_ZH = [form for r in data_rows('keywords-zh.tsv') for form in r]


def luhn_valid(digits):
	"""ISO/IEC 7812-1: from the right, every second digit doubled, the digits of the
	products summed with the others; valid when the total ends in 0."""
	total = 0
	for pos, ch in enumerate(reversed(digits)):
		n = int(ch) * (2 if pos % 2 else 1)
		total += n // 10 + n % 10
	return len(digits) > 1 and total % 10 == 0


# Taiwan national ID: the letter's two-digit code (the Ministry of the Interior's table),
# then the sex digit (1 or 2), seven digits and the check digit; the eleven digits,
# weighted 1 9 8 7 6 5 4 3 2 1 1, sum to a multiple of 10.
TW_LETTER = {'A': 10, 'B': 11, 'C': 12, 'D': 13, 'E': 14, 'F': 15, 'G': 16, 'H': 17,
             'I': 34, 'J': 18, 'K': 19, 'L': 20, 'M': 21, 'N': 22, 'O': 35, 'P': 23,
             'Q': 24, 'R': 25, 'S': 26, 'T': 27, 'U': 28, 'V': 29, 'W': 32, 'X': 30,
             'Y': 31, 'Z': 33}


def tw_id_valid(s):
	if len(s) != 10 or s[0] not in TW_LETTER or s[1] not in '12' or not s[1:].isdigit():
		return False
	digits = [int(c) for c in str(TW_LETTER[s[0]]) + s[1:]]
	return sum(d * w for d, w in zip(digits, (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1))) % 10 == 0


def english_keywords(text):
	"""The keywords found in lowercased text where no ASCII letter or digit touches them
	(a tokenizer splitting at script changes sees `quetzal` in `對手quetzal分公司`)."""
	def alnum(ch):
		return ch.isascii() and ch.isalnum()
	found = set()
	for k in KW_EN:
		at = text.find(k)
		while at >= 0:
			before = text[at - 1] if at else ''
			after = text[at + len(k):at + len(k) + 1]
			if not (before and alnum(before)) and not (after and alnum(after)):
				found.add(k)
				break
			at = text.find(k, at + 1)
	return sorted(found)


def fail(n, msg):
	failures.append(f'message {n}: {msg}')


def leaves(msg):
	"""Leaf parts depth-first, descending into message/rfc822."""
	out = []
	for part in msg.walk():
		if part.is_multipart():
			continue
		out.append(part)
	return out


def check_wire(n, raw, meta):
	if re.search(rb'(?<!\r)\n|\r(?!\n)', raw):
		fail(n, 'bare CR or LF')
	if any(len(line) > 998 for line in raw.split(b'\r\n')):
		fail(n, 'line longer than 998 bytes')
	head = raw.split(b'\r\n\r\n', 1)[0]
	if not head.isascii() and not meta['smtputf8']:
		fail(n, 'non-ASCII header without SMTPUTF8')
	if hashlib.sha256(raw).hexdigest() != meta['sha256'] or len(raw) != meta['size']:
		fail(n, 'sha256/size differ from the index')


def check_parts(n, msg, meta):
	got = leaves(msg)
	want = meta['parts']
	if len(got) != len(want):
		fail(n, f'{len(got)} leaf parts, index says {len(want)}')
		return
	for part, w in zip(got, want):
		ct = part.get_content_type()
		if ct != w['content_type']:
			fail(n, f"part {w['path']}: content type {ct} != {w['content_type']}")
		cs = part.get_param('charset')
		if (cs.lower() if cs else None) != w['charset']:
			fail(n, f"part {w['path']}: charset {cs} != {w['charset']}")
		if part.get_filename() != w['filename']:
			fail(n, f"part {w['path']}: filename {part.get_filename()!r} != {w['filename']!r}")
		if part.get_content_disposition() != w['disposition']:
			fail(n, f"part {w['path']}: disposition {part.get_content_disposition()} != {w['disposition']}")
		if part.get('content-transfer-encoding', '7bit').lower() != w['encoding']:
			fail(n, f"part {w['path']}: encoding differs")
		data = part.get_payload(decode=True)
		if len(data) != w['decoded_bytes'] or hashlib.sha256(data).hexdigest() != w['sha256']:
			fail(n, f"part {w['path']}: decoded bytes/sha256 differ ({len(data)} vs {w['decoded_bytes']})")


def searchable_text(msg):
	texts = [str(msg['subject'] or '')]
	for part in leaves(msg):
		if part.get_content_maintype() == 'text':
			texts.append(part.get_content())
	return texts


def check_words(n, msg, meta):
	texts = searchable_text(msg)
	low = ' '.join(texts).lower()
	en = english_keywords(low)
	zh = sorted(k for k in KW_ZH if any(k in t for t in texts))
	if en != meta['words']['en']:
		fail(n, f"English keywords {en} != index {meta['words']['en']}")
	if zh != meta['words']['zh']:
		fail(n, f"Chinese keywords {zh} != index {meta['words']['zh']}")
	joined = '\n'.join(texts)
	d = meta['dlp']
	for c in d['cards']:
		if not luhn_valid(re.sub(r'\D', '', c)) or c not in joined:
			fail(n, f'card {c} invalid or absent')
	for c in d['decoy_cards']:
		if luhn_valid(re.sub(r'\D', '', c)) or c not in joined:
			fail(n, f'decoy card {c} valid or absent')
	for t in d['tw_ids']:
		if not tw_id_valid(t) or t not in joined:
			fail(n, f'Taiwan ID {t} invalid or absent')
	for t in d['decoy_tw_ids']:
		if tw_id_valid(t) or t not in joined:
			fail(n, f'decoy Taiwan ID {t} valid or absent')


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument('dir')
	ap.add_argument('--mbox')
	a = ap.parse_args()
	metas = [json.loads(line) for line in open(os.path.join(a.dir, 'index.jsonl'), encoding='utf-8')]
	by_n = {m['n']: m for m in metas}
	raws = {}
	stats = {'dup': 0, 'reused': 0, 'fwd': 0, 'cards': 0, 'ids': 0, 'exe': 0,
	         'big5': 0, 'gb': 0, 'kw_zh': 0, 'kw_en': 0}
	for meta in metas:
		n = meta['n']
		raw = open(os.path.join(a.dir, meta['file']), 'rb').read()
		raws[n] = raw
		check_wire(n, raw, meta)
		msg = email.message_from_bytes(raw, policy=email.policy.default)
		if str(msg['subject']) != meta['subject']:
			fail(n, f"subject {str(msg['subject'])!r} != {meta['subject']!r}")
		if msg['from'].addresses[0].addr_spec != meta['from']['addr']:
			fail(n, 'From address differs')
		if msg['message-id'] != meta['message_id']:
			fail(n, 'Message-ID differs')
		check_parts(n, msg, meta)
		if not meta['smtputf8'] and any(not v.isascii() for part in msg.walk()
		                                for _, v in part._headers):
			fail(n, 'raw 8-bit header in an entity (a forwarded message?) without SMTPUTF8')
		check_words(n, msg, meta)
		if meta['duplicate_of'] is not None:
			stats['dup'] += 1
			if raws.get(meta['duplicate_of']) != raw:
				fail(n, f"not byte-identical to its original {meta['duplicate_of']}")
		for r in meta['reused_attachments']:
			stats['reused'] += 1
			src = {p['path']: p for p in by_n[r['from']]['parts']}[r['from_path']]
			mine = {p['path']: p for p in meta['parts']}[r['path']]
			if src['sha256'] != mine['sha256']:
				fail(n, f're-sent attachment {r} has other bytes')
		stats['fwd'] += meta['forwarded'] is not None
		stats['cards'] += len(meta['dlp']['cards'])
		stats['ids'] += len(meta['dlp']['tw_ids'])
		stats['exe'] += bool(meta['executables'])
		stats['big5'] += meta['charset'] == 'big5'
		stats['gb'] += meta['charset'] in ('gb2312', 'gbk', 'gb18030')
		stats['kw_zh'] += bool(meta['words']['zh'])
		stats['kw_en'] += bool(meta['words']['en'])
	if a.mbox:
		box = mailbox.mbox(a.mbox)
		keys = list(box.keys())
		if len(keys) != len(metas):
			failures.append(f'mbox holds {len(keys)} messages, index {len(metas)}')
		else:
			for key, meta in zip(keys, metas):
				got = box.get_bytes(key)
				want = raws[meta['n']].replace(b'\r\n', b'\n')
				got = re.sub(rb'(?m)^>(>*From )', rb'\1', got)   # mboxrd unquoting
				if got.rstrip(b'\n') != want.rstrip(b'\n'):
					failures.append(f"mbox message {meta['n']} differs")
	print(f'{len(metas)} messages checked: ' + ', '.join(f'{k} {v}' for k, v in stats.items()))
	for f in failures[:50]:
		print('FAIL', f)
	if failures:
		print(f'{len(failures)} failures')
		sys.exit(1)


if __name__ == '__main__':
	main()
