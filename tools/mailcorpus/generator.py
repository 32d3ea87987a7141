"""The corpus: message n is a pure function of (seed, n, messages before it), so a corpus
of 1,000 is the first 1,000 of a corpus of 100,000 with the same seed and options."""

import collections
import hashlib
import math
import random
import re

from . import attachments as A
from . import dlp
from . import headers as H
from .mimetree import Embedded, Leaf, Multipart, Renderer, leaf_facts, part_json
from .people import direction, population
from .text import Prose
from .vocab import vocabulary

START_EPOCH = 1672531200   # 2023-01-01T00:00:00Z
MEAN_GAP = 300             # seconds between messages on average (100k span ~ 1 year)
RECENT = 2000              # messages kept for duplicates, replies and forwards
POOL = 1000                # attachments kept for re-sending


class Options:
	def __init__(self, seed=1, count=1000, duplicates=0.0, reuse_attachments=0.0,
	             dlp_rate=0.0, exe_rate=0.01, eicar_rate=0.0, forward_rate=0.03,
	             reply_rate=0.25, large_rate=0.001, median_size=8192, sigma=0.9,
	             container_rate=0.0):
		self.seed, self.count = seed, count
		self.duplicates, self.reuse_attachments = duplicates, reuse_attachments
		self.dlp_rate, self.exe_rate, self.eicar_rate = dlp_rate, exe_rate, eicar_rate
		self.forward_rate, self.reply_rate, self.large_rate = forward_rate, reply_rate, large_rate
		self.median_size, self.sigma = median_size, sigma
		self.container_rate = container_rate


_TZ = (480, 480, 480, 0, -300, -240, -420, 60, 540, 330)  # minutes; Asia-heavy
_GREETING = {
	'en': ('Hi {first},', 'Dear {first},', 'Hello {first},', 'Hi all,', '{first},'),
	'hant': ('{first}您好：', '各位好：', '{first}：', 'Dear {first}：'),
	'hans': ('{first}您好：', '各位好：', '{first}：', 'Dear {first}：'),
}
_SIGNOFF = {
	'en': ('Best regards,', 'Thanks,', 'Regards,', 'Cheers,', 'Thank you,'),
	'hant': ('謝謝', '敬祝 順利', '祝好'),
	'hans': ('谢谢', '祝 顺利', '祝好'),
}
_CARD_LEAD = {'en': 'Card number: ', 'hant': '信用卡號：', 'hans': '信用卡号：'}
_ID_LEAD = {'en': 'ID: ', 'hant': '身分證字號：', 'hans': '身份证号：'}
_DECOY_CARD_LEAD = {'en': 'Order reference ', 'hant': '訂單編號 ', 'hans': '订单编号 '}


def english_keyword_re(words):
	"""An English keyword counts where no ASCII letter or digit touches it (so `quetzal`
	is a word in `對手quetzal分公司`, as a tokenizer splitting at script changes sees it).
	Match against lowercased text."""
	return re.compile(r'(?<![a-z0-9])(' + '|'.join(words) + r')(?![a-z0-9])')


class Corpus:
	def __init__(self, opts):
		self.o = opts
		self.v = vocabulary()
		self.people = population(random.Random(f'{opts.seed}:people'))
		self.by_addr = {p.addr: p for p in self.people}
		self.recent = collections.deque(maxlen=RECENT)  # (meta, raw) of originals
		self.pool = []        # (n, path, Attachment) for re-sending
		self.pool_seen = 0
		self.kw_en_re = english_keyword_re(self.v.kw_en)
		self.kw_zh_all = self.v.kw_zh['hant'] + self.v.kw_zh['hans']

	def __iter__(self):
		for n in range(self.o.count):
			yield self.message(n)

	# -- one message ------------------------------------------------------------------
	def message(self, n):
		rng = random.Random(f'{self.o.seed}:msg:{n}')
		if self.recent and rng.random() < self.o.duplicates:
			meta, raw = rng.choice(self.recent)
			dup = dict(meta, n=n, duplicate_of=meta['n'])
			return dup, raw
		m = _Draft(self, rng, n)
		meta, raw = m.build()
		self.recent.append((meta, raw))
		return meta, raw

	def remember_attachment(self, rng, n, path, att):
		self.pool_seen += 1
		if len(self.pool) < POOL:
			self.pool.append((n, path, att))
		elif rng.randrange(self.pool_seen) < POOL:
			self.pool[rng.randrange(POOL)] = (n, path, att)

	def words_in(self, texts):
		# one string (texts joined by a newline, which no keyword spans) searched once
		t = '\n'.join(texts)
		low = t.lower()
		en = set(self.kw_en_re.findall(low)) if any(k in low for k in self.v.kw_en) else set()
		zh = {k for k in self.kw_zh_all if k in t}
		return en, zh


def _text_encoding(rng, charset, has_8bit):
	r = rng.random()
	if not has_8bit:
		return '7bit' if r < 0.7 else 'quoted-printable' if r < 0.9 else 'base64'
	if charset == 'utf-8':
		return '8bit' if r < 0.4 else 'base64' if r < 0.8 else 'quoted-printable'
	return 'base64' if r < 0.6 else '8bit' if r < 0.85 else 'quoted-printable'


class _Draft:
	"""Builds one original message."""

	def __init__(self, corpus, rng, n):
		self.c, self.rng, self.n, self.o = corpus, rng, n, corpus.o
		self.dlp = {'cards': [], 'tw_ids': [], 'decoy_cards': [], 'decoy_tw_ids': [], 'eicar': False}
		self.texts = []        # searchable text (str) of this message
		self.reused = []
		self.executables = []
		self.forwarded = None
		self.inner = None      # meta of a forwarded message

	# -- who, when, what about ----------------------------------------------------------
	def choose_people(self):
		rng, c = self.rng, self.c
		self.reply_to = None
		if c.recent and rng.random() < self.o.reply_rate:
			orig_meta, _ = rng.choice(list(c.recent)[-300:])
			cands = [c.by_addr[r['addr']] for r in orig_meta['to'] + orig_meta['cc']
			         if r['addr'] in c.by_addr]
			if cands and orig_meta['from']['addr'] in c.by_addr:
				self.reply_to = orig_meta
				self.sender = rng.choice(cands)
				self.to = [c.by_addr[orig_meta['from']['addr']]]
				others = [p for p in cands if p is not self.sender]
				self.cc = others[:rng.randrange(0, 3)] if rng.random() < 0.4 else []
				self.lang = orig_meta['lang'].split('+')[0]
				return
		self.sender = rng.choice(c.people)
		want_internal = self.sender.internal and rng.random() < 0.5 or not self.sender.internal
		pool = [p for p in c.people if p.internal] if want_internal else c.people
		nto = 1 if rng.random() < 0.7 else rng.randint(2, 4)
		ncc = 0 if rng.random() < 0.65 else rng.randint(1, 3)
		chosen = []
		while len(chosen) < nto + ncc:
			p = rng.choice(pool)
			if p is not self.sender and p not in chosen:
				chosen.append(p)
		if self.sender.internal and not want_internal and all(p.internal for p in chosen):
			chosen[0] = rng.choice([p for p in c.people if not p.internal])
		self.to, self.cc = chosen[:nto], chosen[nto:]
		if self.sender.lang == 'en':
			self.lang = 'en'
		else:
			self.lang = self.sender.lang if rng.random() < 0.7 else 'en'

	def choose_charset(self):
		rng, s = self.rng, self.sender
		self.mixed = False
		if self.lang == 'en':
			self.mixed = rng.random() < 0.08
			self.charset = 'utf-8' if self.mixed or rng.random() < 0.4 else 'us-ascii'
		elif s.lang == self.lang:
			self.charset = s.charset
		else:
			self.charset = 'utf-8' if rng.random() < 0.6 else ('big5' if self.lang == 'hant' else 'gbk')
		# the greeting and signature names must fit too; else the client falls back to UTF-8
		names = (self.sender.name or '') + (self.to[0].first if self.to else '')
		try:
			names.encode(self.charset)
		except UnicodeEncodeError:
			self.charset = 'utf-8'
		# filenames and names: the sender's client charset, or UTF-8
		self.name_charset = self.charset if self.charset != 'us-ascii' else 'utf-8'
		self.smtputf8 = self.lang != 'en' and self.charset == 'utf-8' and rng.random() < 0.02

	def target_size(self):
		rng = self.rng
		if rng.random() < self.o.large_rate:
			return rng.randint(256 * 1024, 3 * 1024 * 1024)
		size = rng.lognormvariate(math.log(self.o.median_size), self.o.sigma)
		return int(min(max(size, 700), 2 * 1024 * 1024))

	def choose_keywords(self):
		rng, v = self.rng, self.c.v
		self.plant_en, self.plant_zh = [], []
		if rng.random() < 0.3:
			self.plant_en = rng.sample(v.kw_en, rng.randint(1, 2))
		if self.lang != 'en' and rng.random() < 0.5:
			self.plant_zh = rng.sample(v.kw_zh[self.lang], rng.randint(1, 2))
		elif self.mixed and rng.random() < 0.5:
			self.plant_zh = [rng.choice(v.kw_zh['hant'])]

	# -- text -------------------------------------------------------------------------
	def subject(self):
		rng, v = self.rng, self.c.v
		if self.reply_to is not None:
			s = self.reply_to['subject']
			return s if s.startswith('Re: ') else 'Re: ' + s
		if self.lang == 'en':
			t = rng.choice(v.subjects['en'])
			while '{topic}' in t:
				t = t.replace('{topic}', rng.choice(v.en_words[40:]), 1)
			t = t.replace('{n}', str(rng.randrange(1, 40))).replace(
				'{month}', rng.choice(('January', 'March', 'May', 'July', 'October', 'December')))
			t = t[0].upper() + t[1:]
		else:
			t = rng.choice(v.subjects['zh'])
			while '{topic}' in t:
				t = t.replace('{topic}', rng.choice(v.zh[self.lang][20:]), 1)
		if self.plant_en and rng.random() < 0.15:
			t += ' ' + self.plant_en[0]
		if self.plant_zh and rng.random() < 0.15:
			t += ' ' + self.plant_zh[0]
		return t

	def body_lines(self, nbytes, dlp_lines):
		"""Greeting, prose (with the planted keywords), sensitive lines, sign-off."""
		rng = self.rng
		first = self.to[0].first if self.to else 'all'
		lines = [rng.choice(_GREETING[self.lang]).format(first=first), '']
		prose = Prose(rng, self.lang, nbytes, self.plant_en + self.plant_zh
		              if not self.mixed else self.plant_en)
		body = prose.lines()
		if self.mixed:
			body += [''] + Prose(rng, 'hant', min(nbytes // 4, 600), self.plant_zh).lines()
		for line in dlp_lines:
			body.insert(rng.randrange(len(body) + 1), line)
		if rng.random() < 0.03:
			body.insert(rng.randrange(len(body) + 1), rng.choice(('.', '...', '.hidden line')))
		if rng.random() < 0.03:
			body.insert(rng.randrange(len(body) + 1), 'From the notes above, see below.')
		lines += body + ['', rng.choice(_SIGNOFF[self.lang]), self.sender.name or self.sender.addr]
		if rng.random() < 0.3:
			lines += ['-- ', f'{self.sender.name or ""} | {self.sender.addr.split("@")[1]}'.strip()]
		return lines, prose

	def dlp_material(self):
		"""Lines carrying sensitive data for this message, and which go to a CSV."""
		rng = self.rng
		body, csv = [], []
		lang = self.lang
		if rng.random() < self.o.dlp_rate:
			for _ in range(rng.randint(1, 3)):
				if rng.random() < 0.6:
					v = dlp.card_number(rng)
					self.dlp['cards'].append(v)
					line = _CARD_LEAD[lang] + v
				else:
					v = dlp.tw_national_id(rng)
					self.dlp['tw_ids'].append(v)
					line = _ID_LEAD[lang] + v
				(body if rng.random() < 0.7 else csv).append(line)
		if rng.random() < 0.05:
			v = dlp.card_number(rng, valid=False)
			self.dlp['decoy_cards'].append(v)
			body.append(_DECOY_CARD_LEAD[lang] + v)
		if rng.random() < 0.03:
			v = dlp.tw_national_id(rng, valid=False)
			self.dlp['decoy_tw_ids'].append(v)
			body.append(_ID_LEAD[lang] + v)
		return body, csv

	# -- parts ------------------------------------------------------------------------
	def text_leaf(self, subtype, text, disposition=None):
		data = text.replace('\n', '\r\n').encode(self.charset)
		enc = _text_encoding(self.rng, self.charset, not data.isascii())
		if subtype == 'html' and enc == '7bit' and self.rng.random() < 0.7:
			enc = 'quoted-printable'
		self.texts.append(text)
		return Leaf('text/' + subtype, data, enc, charset=self.charset, text=text,
		            disposition=disposition)

	def html_of(self, prose, lines):
		paras = ''.join(f'<p>{p}</p>\n' for p in prose.html_paragraphs())
		head = f'<p>{lines[0]}</p>\n'
		tail = f'<p>{lines[-2]}<br>\n{lines[-1]}</p>\n'
		meta = self.charset if self.charset != 'us-ascii' else 'utf-8'
		return (f'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; '
		        f'charset={meta}">\n</head>\n<body>\n{head}{paras}{tail}</body>\n</html>\n')

	def text_body(self, nbytes, dlp_lines, alternative):
		lines, prose = self.body_lines(nbytes, dlp_lines)
		plain = self.text_leaf('plain', '\n'.join(lines) + '\n')
		if not alternative:
			return plain
		html = self.text_leaf('html', self.html_of(prose, lines))
		return Multipart('alternative', [plain, html], self.boundary())

	def boundary(self):
		rng = self.rng
		r = rng.random()
		h = '%016x' % rng.getrandbits(64)
		if r < 0.4:
			return f'----=_Part_{rng.randrange(10**6)}_{h}'
		if r < 0.7:
			return f'=_sluice_{h}'
		return f'{h[:8]}-{h[8:12]}-{h[12:]}'

	def attachment_leaf(self, att, inline=False):
		rng = self.rng
		if att.filename.isascii():
			style = 'plain'
		else:
			r = rng.random()
			style = 'rfc2231' if r < 0.4 else 'rfc2231-cont' if r < 0.55 else 'rfc2047'
		if att.text is not None:
			enc = 'base64' if rng.random() < 0.5 else 'quoted-printable'
			if att.data.isascii() and rng.random() < 0.3:
				enc = '7bit'
		else:
			enc = 'base64'
		leaf = Leaf(att.content_type, att.data, enc, charset=att.charset, filename=att.filename,
		            fname_style=style, disposition='inline' if inline else 'attachment',
		            text=att.text, name_param=rng.random() < 0.9)
		if rng.random() < 0.1 and not inline:
			leaf.disposition = None   # name= only, as some clients write
			leaf.name_param = True
		if att.text is not None:
			self.texts.append(att.text)
		if att.executable:
			self.executables.append(att.filename)
		if dlp.eicar_present(att.data):
			self.dlp['eicar'] = True
		return leaf

	def new_attachment(self, nbytes, csv_lines):
		rng = self.rng
		lang = self.lang
		# (no draw at all at rate 0: corpora without containers stay byte-identical)
		if self.o.container_rate and rng.random() < self.o.container_rate:
			return A.container_file(rng, lang, self.charset, max(nbytes // 40, 3), csv_lines)
		if csv_lines:
			return A.csv_file(rng, lang, self.charset, max(nbytes // 40, 3), csv_lines)
		r = rng.random()
		if r < 0.25:
			return A.pdf_file(rng, lang, nbytes)
		if r < 0.40:
			return A.png_file(rng, lang, nbytes)
		if r < 0.55:
			return A.docx_file(rng, lang, nbytes)
		if r < 0.75:
			plant = self.plant_en[1:] if rng.random() < 0.5 else ()
			return A.text_file(rng, lang, self.charset, nbytes, plant)
		if r < 0.90:
			return A.csv_file(rng, lang, self.charset, max(nbytes // 40, 3))
		return A.pdf_file(rng, lang, nbytes)

	def attachments(self, budget, csv_lines):
		"""Attachment leaves filling about `budget` encoded bytes."""
		rng, c = self.rng, self.c
		k = 1 if rng.random() < 0.6 else 2 if rng.random() < 0.75 else 3
		raw_budget = max(int(budget * 0.74), 300)
		shares = [rng.random() + 0.2 for _ in range(k)]
		total = sum(shares)
		atts = []
		for i, s in enumerate(shares):
			size = max(int(raw_budget * s / total), 200)
			carries_csv = i == 0 and csv_lines
			if i == k - 1 and not carries_csv and c.pool and \
					rng.random() < self.o.reuse_attachments:
				src_n, src_path, att = rng.choice(c.pool)
				if rng.random() < 0.3:
					ext = att.filename.rsplit('.', 1)[-1]
					att = A.Attachment(att.content_type, A.stem(rng, self.lang) + '.' + ext,
					                   att.data, att.text, att.charset, att.executable, att.lang)
				atts.append((att, (src_n, src_path)))
				continue
			atts.append((self.new_attachment(size, csv_lines if i == 0 else ()), None))
		if self.want_exe:
			atts.append((A.executable_file(rng, self.lang, rng.randint(2000, 40000)), None))
		if self.want_eicar:
			atts.append((A.eicar_file(rng), None))
		leaves = []
		for att, origin in atts:
			leaf = self.attachment_leaf(att)
			leaf.origin = origin
			leaves.append((leaf, att))
		return leaves

	def structure(self, size):
		"""The MIME tree. Returns (root, [(leaf, Attachment)] of attachments)."""
		rng, c = self.rng, self.c
		body_budget = max(size - 900, 300)
		dlp_body, dlp_csv = self.dlp_material()
		# a forward wraps an earlier message
		if c.recent and rng.random() < self.o.forward_rate:
			inner_meta, inner_raw = rng.choice(list(c.recent)[-500:])
			self.inner, self.forwarded = inner_meta, inner_meta['n']
			text = self.text_body(min(body_budget // 3, 1500), dlp_body + dlp_csv,
			                      rng.random() < 0.3)
			parts = [text, Embedded(inner_raw, inner_meta)]
			return Multipart('mixed', parts, self.boundary()), []
		r = rng.random()
		self.want_exe = rng.random() < self.o.exe_rate
		self.want_eicar = rng.random() < self.o.eicar_rate
		want_att = dlp_csv or r >= 0.60 or self.want_exe or self.want_eicar
		if not want_att:
			alternative = r >= 0.35
			factor = 2.6 if alternative else 1.15
			return self.text_body(int(body_budget / factor), dlp_body, alternative), []
		text_budget = min(int(body_budget * rng.uniform(0.15, 0.4)), 6000)
		related = rng.random() < 0.08
		text = self.text_body(text_budget, dlp_body, rng.random() < 0.5 or related)
		atts = self.attachments(body_budget - text_budget * 2, dlp_csv)
		if related:
			png = A.png_file(rng, self.lang, rng.randint(500, 6000))
			cid = f'img{rng.getrandbits(32):08x}@{self.sender.addr.split("@")[1]}'
			img = self.attachment_leaf(png, inline=True)
			img.extra.append(f'Content-ID: <{cid}>\r\n')
			html = text.children[1]
			rel = Multipart('related', [html, img], self.boundary())
			text.children[1] = rel
			atts.append((img, png))
		children = [text] + [leaf for leaf, _ in atts if leaf.disposition != 'inline']
		preamble = 'This is a multi-part message in MIME format.' if rng.random() < 0.5 else ''
		return Multipart('mixed', children, self.boundary(), preamble), atts

	# -- the message --------------------------------------------------------------------
	def build(self):
		rng, n = self.rng, self.n
		self.choose_people()
		self.choose_charset()
		self.choose_keywords()
		size = self.target_size()
		subject = self.subject()
		root, atts = self.structure(size)

		epoch = START_EPOCH + n * MEAN_GAP + rng.randrange(MEAN_GAP)
		if self.reply_to is not None:
			epoch = max(epoch, self.reply_to['epoch'] + 60)
		tz = rng.choice(_TZ)
		domain = self.sender.addr.split('@')[1]
		msgid = f'<{epoch:x}.{rng.getrandbits(48):012x}@{domain}>'
		hdr = self.top_headers(subject, epoch, tz, msgid)
		renderer = Renderer(rng, self.name_charset)
		head = hdr + renderer.entity_headers(root)
		raw = head.encode('utf-8' if self.smtputf8 else 'ascii') + b'\r\n' + renderer.body(root)

		facts = leaf_facts(root)
		parts = [part_json(path, leaf) for path, leaf in facts]
		for path, leaf in facts:
			if isinstance(leaf, Leaf) and leaf.origin is not None:
				self.reused.append({'path': path, 'from': leaf.origin[0], 'from_path': leaf.origin[1]})
		for path, leaf in facts:
			if isinstance(leaf, Leaf) and leaf.disposition == 'attachment' and leaf.origin is None:
				for _, att in atts:
					if att.data is leaf.data:
						self.c.remember_attachment(rng, n, path, att)
						break
		meta = self.meta(subject, epoch, tz, msgid, raw, parts)
		return meta, raw

	def top_headers(self, subject, epoch, tz, msgid):
		rng, s = self.rng, self.sender
		cs = self.name_charset

		def addr(p):
			if self.smtputf8:
				return f'{p.name} <{p.addr}>' if p.name else p.addr
			return H.address(p.name, p.addr, p.charset if p.lang == s.lang else 'utf-8', rng)

		subj = subject if self.smtputf8 else H.phrase(subject, cs, rng)
		received = []
		for hop in range(rng.randint(1, 3)):
			ip = f'{rng.choice(("192.0.2", "198.51.100", "203.0.113"))}.{rng.randrange(1, 255)}'
			received.append(H.fold('Received', (
				f'from mx{hop}.{s.addr.split("@")[1]} (mx{hop}.{s.addr.split("@")[1]} [{ip}]) '
				f'by mail.example.com with ESMTPS id {rng.getrandbits(40):010X}; '
				f'{H.rfc5322_date(epoch - hop * 2, tz)}')))
		fields = [
			H.fold('From', addr(s)),
			H.fold_list('To', [addr(p) for p in self.to]),
		]
		if self.cc:
			fields.append(H.fold_list('Cc', [addr(p) for p in self.cc]))
		fields.append(H.fold('Subject', subj))
		fields.append(f'Date: {H.rfc5322_date(epoch, tz)}\r\n')
		fields.append(f'Message-ID: {msgid}\r\n')
		if self.reply_to is not None:
			fields.append(f"In-Reply-To: {self.reply_to['message_id']}\r\n")
			refs = self.reply_to['references'][-8:] + [self.reply_to['message_id']]
			fields.append(H.fold('References', ' '.join(refs)))
		if rng.random() < 0.4:
			fields.append(rng.choice(('X-Mailer: Sluice corpus mailer 1.0\r\n',
			                          'User-Agent: Mozilla Thunderbird (synthetic)\r\n',
			                          'X-Priority: 3\r\n')))
		rng.shuffle(fields)
		return ''.join(received) + ''.join(fields) + 'MIME-Version: 1.0\r\n'

	def meta(self, subject, epoch, tz, msgid, raw, parts):
		en, zh = self.c.words_in(self.texts + [subject])
		d = self.dlp
		refs = []
		if self.reply_to is not None:
			refs = self.reply_to['references'][-8:] + [self.reply_to['message_id']]
		if self.inner is not None:
			en |= set(self.inner['words']['en'])
			zh |= set(self.inner['words']['zh'])
			for k in ('cards', 'tw_ids', 'decoy_cards', 'decoy_tw_ids'):
				d[k] = d[k] + self.inner['dlp'][k]
			d['eicar'] = d['eicar'] or self.inner['dlp']['eicar']
			self.executables += self.inner['executables']
		rcpts = self.to + self.cc
		bcc = []
		if self.rng.random() < 0.05:
			bcc = [self.rng.choice([p for p in self.c.people if p.internal])]
		return {
			'n': self.n,
			'message_id': msgid,
			'date': H.iso_utc(epoch),
			'epoch': epoch,
			'tz_minutes': tz,
			'from': self.sender.as_json(),
			'to': [p.as_json() for p in self.to],
			'cc': [p.as_json() for p in self.cc],
			'envelope': {'mail_from': self.sender.addr,
			             'rcpt_to': [p.addr for p in rcpts + bcc if p is not None]},
			'direction': direction(self.sender, rcpts),
			'subject': subject,
			'lang': self.lang + ('+hant' if self.mixed else ''),
			'charset': self.charset,
			'in_reply_to': self.reply_to['message_id'] if self.reply_to is not None else None,
			'references': refs,
			'size': len(raw),
			'sha256': hashlib.sha256(raw).hexdigest(),
			'eight_bit': not raw.isascii(),
			# raw UTF-8 headers anywhere (a forwarded RFC 6532 message's too): needs SMTPUTF8
			'smtputf8': self.smtputf8 or bool(self.inner and self.inner['smtputf8']),
			'parts': parts,
			'words': {'en': sorted(en), 'zh': sorted(zh)},
			'dlp': d,
			'executables': self.executables,
			'reused_attachments': self.reused,
			'forwarded': self.forwarded,
			'duplicate_of': None,
		}


def generate(opts):
	"""Yields (index entry, raw message bytes) for messages 0..count-1."""
	return iter(Corpus(opts))
