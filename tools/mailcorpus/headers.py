"""Header field writing: RFC 2047 encoded words, RFC 2231 parameters, addresses, folding,
dates. Everything returns str with CRLF line ends, ready to encode as ASCII."""

import base64
import time
import urllib.parse

MAX_WORD = 75     # RFC 2047: an encoded word is at most 75 characters
FOLD_AT = 76

# RFC 2047 5(3): characters a Q-encoded word in a phrase may carry as themselves.
_Q_SAFE = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/')


def _q(raw):
	out = []
	for b in raw:
		if b == 0x20:
			out.append('_')
		elif b in _Q_SAFE:
			out.append(chr(b))
		else:
			out.append('=%02X' % b)
	return ''.join(out)


def encoded_words(text, charset, enc='B'):
	"""text as one or more RFC 2047 encoded words (each <= 75 characters), split between
	characters so no multibyte sequence is cut. Returns a list of words."""
	head = f'=?{charset}?{enc}?'
	room = MAX_WORD - len(head) - 2
	words, cur = [], ''
	for ch in text:
		trial = cur + ch
		raw = trial.encode(charset)
		size = len(_q(raw)) if enc == 'Q' else (len(raw) + 2) // 3 * 4
		if size > room and cur:
			words.append(cur)
			cur = ch
		else:
			cur = trial
	if cur:
		words.append(cur)
	if enc == 'Q':
		return [head + _q(w.encode(charset)) + '?=' for w in words]
	return [head + base64.b64encode(w.encode(charset)).decode() + '?=' for w in words]


def phrase(text, charset, rng):
	"""A display name or subject: as is when ASCII, else encoded words (B or Q)."""
	if text.isascii():
		return text
	return ' '.join(encoded_words(text, charset, 'Q' if rng.random() < 0.25 else 'B'))


_SPECIALS = set('()<>[]:;@\\,."')


def address(name, addr, charset, rng):
	"""`Name <addr>` with the name quoted or encoded as needed; bare addr without a name."""
	if not name:
		return addr
	if name.isascii():
		if any(c in _SPECIALS for c in name):
			name = '"' + name.replace('\\', '\\\\').replace('"', '\\"') + '"'
		return f'{name} <{addr}>'
	return f'{phrase(name, charset, rng)} <{addr}>'


def fold(name, value):
	"""`Name: value` folded at spaces so lines stay within 76 characters where possible
	(an encoded word or long token that does not fit gets a line of its own)."""
	return _fold_tokens(name, value.split(' '))


def fold_list(name, items):
	"""An address list, folded after commas."""
	return _fold_tokens(name, [item + ',' for item in items[:-1]] + items[-1:])


def _fold_tokens(name, tokens):
	out, line = [], name + ':'
	for tok in tokens:
		if len(line) + 1 + len(tok) > FOLD_AT and line.strip() and line != name + ':':
			out.append(line)
			line = ' ' + tok
		else:
			line += ' ' + tok
	out.append(line)
	return '\r\n'.join(out) + '\r\n'


_DAYS = ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')
_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')


def rfc5322_date(epoch, offset_minutes):
	t = time.gmtime(epoch + offset_minutes * 60)
	sign = '+' if offset_minutes >= 0 else '-'
	off = abs(offset_minutes)
	return (f'{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} '
	        f'{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{off // 60:02d}{off % 60:02d}')


def iso_utc(epoch):
	return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def mbox_date(epoch):
	"""asctime form for an mbox From_ line."""
	t = time.gmtime(epoch)
	return f'{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}'


def filename_params(filename, charset, style, rng):
	"""The `; name=...` parameter text for a filename, by style:
	'plain' (quoted ASCII), 'rfc2047' (encoded word inside quotes, as many clients
	write), 'rfc2231' (filename*=charset''pct), 'rfc2231-cont' (filename*0*=...;
	filename*1*=...). Returns the parameter string for `pname` as a format template
	with {p} for the parameter name."""
	try:
		filename.encode(charset)
	except UnicodeEncodeError:
		charset = 'utf-8'   # a name from another script (a re-sent attachment)
	if style == 'plain' or filename.isascii() and style != 'rfc2231-cont':
		esc = filename.replace('\\', '\\\\').replace('"', '\\"')
		return '{p}="' + esc + '"'
	if style == 'rfc2047':
		return '{p}="' + ' '.join(encoded_words(filename, charset, 'B')) + '"'
	pct = urllib.parse.quote(filename.encode(charset), safe='')
	if style == 'rfc2231':
		return "{p}*=" + charset + "''" + pct
	# continuations: pieces of whole characters (as common clients split them; RFC 2231
	# would allow a split inside a multibyte character, which Python's header parser
	# and engines that follow it flag as undecodable)
	pieces, cur = [], ''
	for ch in filename:
		enc = urllib.parse.quote(ch.encode(charset), safe='')
		if cur and len(cur) + len(enc) > 30:
			pieces.append(cur)
			cur = ''
		cur += enc
	pieces.append(cur)
	parts = []
	for k, piece in enumerate(pieces):
		prefix = charset + "''" if k == 0 else ''
		parts.append('{p}*%d*=%s%s' % (k, prefix, piece))
	return ';\r\n\t'.join(parts)

