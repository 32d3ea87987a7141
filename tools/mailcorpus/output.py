"""Where the corpus goes: a directory of .eml files (CRLF, as on the wire), an mbox
(mboxrd, LF line ends as Unix mail tools expect), and the JSONL index."""

import json
import os
import re

from .headers import mbox_date

_FROM_LINE = re.compile(rb'^(>*From )', re.M)


def eml_name(n, count):
	return f'{n:0{max(6, len(str(count - 1)))}d}.eml'


class EmlDir:
	def __init__(self, path, count):
		self.path, self.count = path, count
		os.makedirs(path, exist_ok=True)

	def write(self, meta, raw):
		with open(os.path.join(self.path, eml_name(meta['n'], self.count)), 'wb') as f:
			f.write(raw)

	def close(self):
		pass


class Mbox:
	def __init__(self, path):
		self.f = open(path, 'wb')

	def write(self, meta, raw):
		body = raw.replace(b'\r\n', b'\n')
		body = _FROM_LINE.sub(rb'>\1', body)
		sender = meta['envelope']['mail_from'] or 'MAILER-DAEMON'
		self.f.write(f'From {sender} {mbox_date(meta["epoch"])}\n'.encode())
		self.f.write(body)
		if not body.endswith(b'\n'):
			self.f.write(b'\n')
		self.f.write(b'\n')

	def close(self):
		self.f.close()


class Index:
	def __init__(self, path, count, with_files):
		self.f = open(path, 'w', encoding='utf-8')
		self.count, self.with_files = count, with_files

	def write(self, meta, raw):
		if self.with_files:
			meta = dict(meta, file=eml_name(meta['n'], self.count))
		self.f.write(json.dumps(meta, ensure_ascii=False, separators=(',', ':')) + '\n')

	def close(self):
		self.f.close()
