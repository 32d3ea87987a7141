"""Real archives and documents, small and deterministic: what the gateway's extraction
stage opens (docs/extraction.md). Used by the corpus (container attachments with planted
data), the lab's test messages (tests/lab/peers/mkmsg.py) and the extraction tests
(tests/extract/gen_archives.py)."""

import io
import tarfile
import zipfile
import zlib

_DATE = (2024, 1, 1, 0, 0, 0)
_SHEET_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
_REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
_PKG_REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships'


def _esc(s):
	return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def zip_bytes(files):
	"""A deflated ZIP of (name, bytes or str) pairs, with fixed dates."""
	buf = io.BytesIO()
	with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
		for name, data in files:
			z.writestr(zipfile.ZipInfo(name, date_time=_DATE), data, compress_type=zipfile.ZIP_DEFLATED)
	return buf.getvalue()


def targz_bytes(files):
	"""A tar.gz of (name, bytes) pairs (mtime 0, so the bytes depend on the files only)."""
	buf = io.BytesIO()
	with tarfile.open(fileobj=buf, mode='w:gz') as t:
		for name, data in files:
			info = tarfile.TarInfo(name)
			info.size = len(data)
			t.addfile(info, io.BytesIO(data))
	return buf.getvalue()


def xlsx_bytes(rows):
	"""A minimal OOXML workbook (Excel and LibreOffice open it): every cell a shared
	string, deflated inside the ZIP as Office writes it."""
	strings = [c for row in rows for c in row]
	sst = ''.join(f'<si><t>{_esc(s)}</t></si>' for s in strings)
	sheet, k = [], 0
	for r, row in enumerate(rows, 1):
		cells = ''
		for c in range(len(row)):
			cells += f'<c r="{chr(65 + c % 26)}{r}" t="s"><v>{k}</v></c>'
			k += 1
		sheet.append(f'<row r="{r}">{cells}</row>')
	head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
	ct = 'application/vnd.openxmlformats-officedocument.spreadsheetml'
	return zip_bytes([
		('[Content_Types].xml', head +
		 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
		 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
		 '<Default Extension="xml" ContentType="application/xml"/>'
		 f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
		 f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
		 f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>'),
		('_rels/.rels', head + f'<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
		 f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
		('xl/workbook.xml', head + f'<workbook xmlns="{_SHEET_NS}" xmlns:r="{_REL_NS}"><sheets>'
		 '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
		('xl/_rels/workbook.xml.rels', head + f'<Relationships xmlns="{_PKG_REL_NS}">'
		 f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
		 f'<Relationship Id="rId2" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
		 '</Relationships>'),
		('xl/worksheets/sheet1.xml', head + f'<worksheet xmlns="{_SHEET_NS}"><sheetData>'
		 f'{"".join(sheet)}</sheetData></worksheet>'),
		('xl/sharedStrings.xml', head + f'<sst xmlns="{_SHEET_NS}" count="{len(strings)}" '
		 f'uniqueCount="{len(strings)}">{sst}</sst>'),
	])


def pdf_bytes(content, flate=True, extra_objs=(), trailer_extra=b''):
	"""A well-formed one-page PDF (xref offsets right, so pdftotext reads it) whose page
	content stream is `content`, deflated or not, in the standard Helvetica font."""
	data = zlib.compress(content) if flate else content
	filt = b'/Filter /FlateDecode ' if flate else b''
	objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
	        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
	        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
	        b'/Resources << /Font << /F1 5 0 R >> >> >>',
	        b'<< ' + filt + b'/Length %d >>\nstream\n' % len(data) + data + b'\nendstream',
	        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'] + list(extra_objs)
	out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
	offsets = []
	for i, o in enumerate(objs, 1):
		offsets.append(len(out))
		out += b'%d 0 obj\n' % i + o + b'\nendobj\n'
	xref = len(out)
	out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
	for off in offsets:
		out += b'%010d 00000 n \n' % off
	out += (b'trailer\n<< /Size %d /Root 1 0 R ' % (len(objs) + 1) + trailer_extra +
	        b'>>\nstartxref\n%d\n%%%%EOF\n' % xref)
	return bytes(out)


def text_pdf(lines):
	"""A PDF showing these lines (Latin-1; other characters become '?')."""
	ops = [b'BT /F1 10 Tf 50 760 Td 12 TL']
	for line in lines:
		s = line.encode('latin-1', 'replace').replace(b'\\', b'\\\\').replace(b'(', b'\\(').replace(b')', b'\\)')
		ops.append(b'(' + s + b") '")
	ops.append(b'ET')
	return pdf_bytes(b'\n'.join(ops))
