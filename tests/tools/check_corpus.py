#!/usr/bin/python3
"""Checks a corpus written by tools/corpus against its own index with Python's `email`
package (policy=default) as the independent reader:

  - every message has CRLF line ends only, lines <= 998 bytes, ASCII headers (unless
    the index says SMTPUTF8), and its sha256/size match the index;
  - subject, From address, leaf parts (path order, content type, charset, filename,
    disposition, decoded size and SHA-256) match the index;
  - the marker keywords the index lists are exactly those in the decoded subject and
    text parts; the DLP values it lists are checksum-valid and present, the decoys
    invalid and present;
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

sys.path.insert(0, os.path.join(os.environ.get('SLUICE_SOURCE_ROOT', os.path.join(
	os.path.dirname(__file__), '..', '..')), 'tools'))
from mailcorpus import dlp  # noqa: E402
from mailcorpus.generator import english_keyword_re  # noqa: E402
from mailcorpus.vocab import vocabulary  # noqa: E402

failures = []


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


def check_words(n, msg, meta, v):
	texts = searchable_text(msg)
	low = ' '.join(texts).lower()
	en = sorted(set(english_keyword_re(v.kw_en).findall(low)))
	zh = sorted(k for k in v.kw_zh['hant'] + v.kw_zh['hans'] if any(k in t for t in texts))
	if en != meta['words']['en']:
		fail(n, f"English keywords {en} != index {meta['words']['en']}")
	if zh != meta['words']['zh']:
		fail(n, f"Chinese keywords {zh} != index {meta['words']['zh']}")
	joined = '\n'.join(texts)
	d = meta['dlp']
	for c in d['cards']:
		if not dlp.luhn_ok(re.sub(r'\D', '', c)) or c not in joined:
			fail(n, f'card {c} invalid or absent')
	for c in d['decoy_cards']:
		if dlp.luhn_ok(re.sub(r'\D', '', c)) or c not in joined:
			fail(n, f'decoy card {c} valid or absent')
	for t in d['tw_ids']:
		if not dlp.tw_id_ok(t) or t not in joined:
			fail(n, f'Taiwan ID {t} invalid or absent')
	for t in d['decoy_tw_ids']:
		if dlp.tw_id_ok(t) or t not in joined:
			fail(n, f'decoy Taiwan ID {t} valid or absent')


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument('dir')
	ap.add_argument('--mbox')
	a = ap.parse_args()
	v = vocabulary()
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
		check_words(n, msg, meta, v)
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
