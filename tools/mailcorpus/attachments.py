"""Attachment content: text and CSV, PDF-like, real PNG, docx-like (a real zip), and
executable-looking files. Binary parts carry random bytes so they do not compress or
match by accident."""

import io
import struct
import zipfile
import zlib

from . import documents
from .text import Prose
from .vocab import vocabulary

EXECUTABLE_EXTENSIONS = ('exe', 'scr', 'com', 'pif', 'js', 'vbs', 'bat', 'cmd', 'ps1', 'jar')

# Stems of attachment names, by language (English, Traditional, Simplified).
_STEMS = {
	'en': ('report', 'invoice', 'quote', 'minutes', 'budget', 'plan', 'schedule', 'summary',
	       'contract', 'proposal', 'specs', 'photo', 'scan', 'diagram', 'notes', 'order'),
	'hant': ('報價單', '會議紀錄', '合約草稿', '出貨明細', '預算表', '專案計畫', '發票',
	         '規格書', '月報', '簡報'),
	'hans': ('报价单', '会议记录', '合约草稿', '出货明细', '预算表', '项目计划', '发票',
	         '规格书', '月报', '简报'),
}


class Attachment:
	__slots__ = ('content_type', 'filename', 'data', 'text', 'charset', 'executable', 'lang')

	def __init__(self, content_type, filename, data, text=None, charset='', executable=False,
	             lang='en'):
		self.content_type, self.filename, self.data = content_type, filename, data
		self.text, self.charset, self.executable, self.lang = text, charset, executable, lang


def stem(rng, lang):
	s = rng.choice(_STEMS[lang])
	r = rng.random()
	if r < 0.4:
		s += f'_{rng.randrange(2019, 2026)}{rng.randrange(1, 13):02d}'
	elif r < 0.6:
		s += f' v{rng.randrange(1, 9)}'
	elif r < 0.7 and lang == 'en':
		s = s.capitalize() + ' (final)'
	return s


def _crlf(text, charset):
	return text.replace('\n', '\r\n').encode(charset)


def text_file(rng, lang, charset, nbytes, plant=(), extra_lines=()):
	prose = Prose(rng, lang, nbytes, plant)
	lines = list(extra_lines) + prose.lines()
	text = '\n'.join(lines) + '\n'
	return Attachment('text/plain', stem(rng, lang) + '.txt', _crlf(text, charset), text,
	                  charset, lang=lang)


def csv_file(rng, lang, charset, nrows, extra_rows=()):
	v = vocabulary()
	words = v.en_words if lang == 'en' else v.zh[lang]
	rows = ['id,item,quantity,amount,note']
	for i in range(nrows):
		rows.append(f'{i + 1},{rng.choice(words)},{rng.randrange(1, 500)},'
		            f'{rng.randrange(100, 999999) / 100:.2f},{rng.choice(words)}')
	rows.extend(extra_rows)
	text = '\n'.join(rows) + '\n'
	return Attachment('text/csv', stem(rng, lang) + '.csv', _crlf(text, charset), text,
	                  charset, lang=lang)


def pdf_file(rng, lang, nbytes):
	"""A PDF-shaped file: header, objects, a binary (Flate-looking) stream, xref, EOF."""
	body = rng.randbytes(max(nbytes - 400, 64))
	head = (b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'
	        b'1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n'
	        b'2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n'
	        b'3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n')
	obj4 = b'4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n' % len(body)
	data = head + obj4 + body + b'\nendstream\nendobj\n'
	data += b'xref\n0 5\ntrailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % len(data)
	return Attachment('application/pdf', stem(rng, lang) + '.pdf', data, lang=lang)


def _png_chunk(kind, payload):
	return (struct.pack('>I', len(payload)) + kind + payload +
	        struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))


def png_file(rng, lang, nbytes):
	"""A valid PNG of noise (noise does not compress, so the size is about nbytes)."""
	width = 64
	height = max(1, nbytes // (width * 3 + 1))
	raw = b''.join(b'\x00' + rng.randbytes(width * 3) for _ in range(height))
	data = (b'\x89PNG\r\n\x1a\n' +
	        _png_chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) +
	        _png_chunk(b'IDAT', zlib.compress(raw, 1)) +
	        _png_chunk(b'IEND', b''))
	return Attachment('image/png', stem(rng, lang) + '.png', data, lang=lang)


_DOCX_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               b'<Default Extension="xml" ContentType="application/xml"/>'
               b'<Override PartName="/word/document.xml" ContentType="application/'
               b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
               b'</Types>')


def docx_file(rng, lang, nbytes, plant=()):
	"""A docx-shaped zip: the text is deflated inside, so only a zip-aware scanner sees it."""
	prose = Prose(rng, lang, nbytes, plant)
	paras = ''.join(f'<w:p><w:r><w:t>{p}</w:t></w:r></w:p>' for p in prose.html_paragraphs())
	doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
	       '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
	       f'{paras}</w:body></w:document>').encode()
	buf = io.BytesIO()
	with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
		for name, content in (('[Content_Types].xml', _DOCX_TYPES), ('word/document.xml', doc)):
			info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
			info.compress_type = zipfile.ZIP_DEFLATED
			z.writestr(info, content)
	ctype = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
	return Attachment(ctype, stem(rng, lang) + '.docx', buf.getvalue(), lang=lang)


def executable_file(rng, lang, nbytes):
	"""A file with an executable extension (sometimes behind a decoy one, `x.pdf.exe`)."""
	ext = rng.choice(EXECUTABLE_EXTENSIONS)
	name = stem(rng, lang)
	if rng.random() < 0.3:
		name += rng.choice(('.pdf', '.doc', '.jpg'))
	name += '.' + ext
	if ext in ('bat', 'cmd'):
		data = b'@echo off\r\nrem generated by sluice corpus\r\necho %DATE%\r\n'
	elif ext in ('js', 'vbs', 'ps1'):
		data = b'// generated by sluice corpus\r\nvar x = 1;\r\n'
	else:
		data = (b'MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00' +
		        b'\x00' * 48 + b'This program cannot be run in DOS mode.\r\r\n$' +
		        rng.randbytes(max(nbytes - 120, 64)))
	return Attachment('application/octet-stream', name, data, executable=True, lang=lang)


def eicar_file(rng):
	# The EICAR anti-virus test file (eicar.org), assembled so this source file is not one.
	data = ('X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*').encode()
	return Attachment('application/octet-stream', rng.choice(('eicar.com.txt', 'test.dat', 'readme.txt')),
	                  data)


def container_file(rng, lang, charset, nrows, extra_rows=()):
	"""The CSV of csv_file (its planted rows included) inside something the gateway must
	open to see it: a spreadsheet, a PDF, a ZIP or a tar.gz."""
	csv = csv_file(rng, lang, charset, nrows, extra_rows)
	name = csv.filename[:-4]
	kind = rng.choice(('xlsx', 'pdf', 'zip', 'tar.gz'))
	if kind == 'xlsx':
		data = documents.xlsx_bytes([row.split(',') for row in csv.text.splitlines()])
		ctype = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
	elif kind == 'pdf':
		data, ctype = documents.text_pdf(csv.text.splitlines()), 'application/pdf'
	elif kind == 'zip':
		data, ctype = documents.zip_bytes([(csv.filename, csv.data)]), 'application/zip'
	else:
		data, ctype = documents.targz_bytes([(csv.filename, csv.data)]), 'application/gzip'
	return Attachment(ctype, f'{name}.{kind}', data, lang=lang)
