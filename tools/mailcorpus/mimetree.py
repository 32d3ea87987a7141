"""A MIME entity tree and its serialization to wire bytes (CRLF), with the leaf-part
facts `sluicectl inspect --json` reports (IMAP section paths, decoded SHA-256)."""

import base64
import binascii
import hashlib

from . import headers as H


class Leaf:
	"""A part with content. `data` is the transfer-decoded body (text in its charset,
	CRLF line ends); `text` the same as str when it is searchable text."""
	__slots__ = ('content_type', 'charset', 'filename', 'fname_style', 'name_param',
	             'disposition', 'encoding', 'data', 'text', 'extra', 'origin')

	def __init__(self, content_type, data, encoding, charset='', filename=None,
	             fname_style='plain', disposition=None, text=None, extra=(), name_param=True):
		self.content_type, self.data, self.encoding = content_type, data, encoding
		self.charset, self.filename, self.fname_style = charset, filename, fname_style
		self.disposition, self.text, self.extra = disposition, text, list(extra)
		self.name_param = name_param
		self.origin = None   # (message n, path) when the bytes re-send an earlier attachment


class Multipart:
	__slots__ = ('subtype', 'children', 'boundary', 'preamble')

	def __init__(self, subtype, children, boundary, preamble=''):
		self.subtype, self.children, self.boundary = subtype, children, boundary
		self.preamble = preamble


class Embedded:
	"""message/rfc822 carrying an already serialized message and its index entry."""
	__slots__ = ('raw', 'meta', 'encoding')

	def __init__(self, raw, meta):
		self.raw, self.meta = raw, meta
		self.encoding = '7bit' if raw.isascii() else '8bit'


def _base64_lines(data):
	enc = base64.b64encode(data)
	return b'\r\n'.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + b'\r\n'


def encode_body(data, encoding):
	if encoding == 'base64':
		return _base64_lines(data)
	if encoding == 'quoted-printable':
		return binascii.b2a_qp(data, istext=True)
	return data


def _content_headers(leaf, charset_for_names, rng):
	ct = leaf.content_type
	if leaf.charset:
		ct += '; charset=' + (f'"{leaf.charset}"' if rng.random() < 0.3 else leaf.charset)
	lines = []
	if leaf.filename is not None and leaf.name_param:
		param = H.filename_params(leaf.filename, charset_for_names, leaf.fname_style, rng)
		ct += ';\r\n\t' + param.format(p='name')
	lines.append('Content-Type: ' + ct + '\r\n')
	if leaf.disposition:
		cd = leaf.disposition
		if leaf.filename is not None:
			param = H.filename_params(leaf.filename, charset_for_names, leaf.fname_style, rng)
			cd += ';\r\n\t' + param.format(p='filename')
		lines.append('Content-Disposition: ' + cd + '\r\n')
	lines.append('Content-Transfer-Encoding: ' + leaf.encoding + '\r\n')
	lines.extend(leaf.extra)
	return ''.join(lines)


class Renderer:
	"""Serializes a tree. Filenames are encoded in `name_charset` (the sender's)."""

	def __init__(self, rng, name_charset):
		self.rng = rng
		self.name_charset = name_charset

	def entity_headers(self, node):
		"""Content-* header lines of an entity (str)."""
		if isinstance(node, Leaf):
			return _content_headers(node, self.name_charset, self.rng)
		if isinstance(node, Multipart):
			return (f'Content-Type: multipart/{node.subtype};\r\n'
			        f'\tboundary="{node.boundary}"\r\n')
		return ('Content-Type: message/rfc822\r\n'
		        f'Content-Transfer-Encoding: {node.encoding}\r\n')

	def body(self, node):
		"""The entity's body bytes (after its header block and blank line)."""
		if isinstance(node, Leaf):
			return encode_body(node.data, node.encoding)
		if isinstance(node, Embedded):
			return node.raw
		b = node.boundary.encode()
		out = []
		if node.preamble:
			out.append(node.preamble.encode() + b'\r\n')
		for child in node.children:
			out.append(b'--' + b + b'\r\n')
			out.append(self.entity_headers(child).encode('ascii') + b'\r\n')
			body = self.body(child)
			out.append(body)
			# the CRLF before a delimiter belongs to the delimiter
			out.append(b'\r\n')
		out.append(b'--' + b + b'--\r\n')
		return b''.join(out)


def leaf_facts(node, base=''):
	"""(path, leaf-or-embedded-part-dict) for every leaf, depth-first, IMAP numbering."""
	out = []
	if isinstance(node, Multipart):
		for i, child in enumerate(node.children, 1):
			_entity_facts(child, _join(base, i), out)
	else:
		_entity_facts(node, _join(base, 1), out)
	return out


def _join(base, i):
	return f'{base}.{i}' if base else str(i)


def _entity_facts(node, path, out):
	if isinstance(node, Leaf):
		out.append((path, node))
	elif isinstance(node, Multipart):
		for i, child in enumerate(node.children, 1):
			_entity_facts(child, f'{path}.{i}', out)
	else:
		for part in node.meta['parts']:
			p = dict(part)
			p['path'] = f"{path}.{part['path']}"
			out.append((p['path'], p))


def part_json(path, leaf):
	"""The index entry of one leaf part, in `sluicectl inspect --json` terms."""
	if isinstance(leaf, dict):
		return leaf
	return {
		'path': path,
		'content_type': leaf.content_type,
		'charset': leaf.charset.lower() or None,
		'filename': leaf.filename,
		'disposition': leaf.disposition,
		'encoding': leaf.encoding,
		'decoded_bytes': len(leaf.data),
		'sha256': hashlib.sha256(leaf.data).hexdigest(),
	}
