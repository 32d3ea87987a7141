"""Where the messages come from: a corpus directory (index.jsonl gives envelopes), .eml
files (envelope from From/To/Cc), or the corpus generator run in memory."""

import email.parser
import email.policy
import email.utils
import json
import os
import sys

from .smtpdialog import Message


def from_corpus_dir(path):
	with open(os.path.join(path, 'index.jsonl'), encoding='utf-8') as f:
		for line in f:
			meta = json.loads(line)
			with open(os.path.join(path, meta['file']), 'rb') as g:
				raw = g.read()
			env = meta['envelope']
			yield Message(raw, env['mail_from'], env['rcpt_to'], meta['file'], meta['smtputf8'])


def _addresses(headers, names):
	vals = [v for n in names for v in headers.get_all(n, [])]
	return [a for _, a in email.utils.getaddresses(vals) if '@' in a]


def from_files(paths):
	parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
	for p in paths:
		with open(p, 'rb') as f:
			raw = f.read()
		h = parser.parsebytes(raw)
		sender = (_addresses(h, ['From']) or ['sender@example.org'])[0]
		rcpts = _addresses(h, ['To', 'Cc']) or ['postmaster@example.com']
		head = raw.split(b'\n\n', 1)[0].split(b'\r\n\r\n', 1)[0]
		yield Message(raw, sender, rcpts, p, smtputf8=not head.isascii())


def from_generator(seed, count):
	sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	from mailcorpus.generator import Options, generate
	for meta, raw in generate(Options(seed=seed, count=count)):
		env = meta['envelope']
		yield Message(raw, env['mail_from'], env['rcpt_to'], meta['n'], meta['smtputf8'])
