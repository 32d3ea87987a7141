"""Sensitive-data look-alikes: Luhn-valid payment card numbers and checksum-valid Taiwan
national IDs (true positives for the DLP rules), and near misses that fail the checksum
(decoys that must not match)."""

# (prefix, length) of well-known test-style card ranges: Visa, Mastercard, Amex, JCB.
_CARD_SHAPES = (('4', 16), ('51', 16), ('55', 16), ('2221', 16), ('34', 15), ('37', 15), ('35', 16))


def luhn_ok(digits):
	total = 0
	for i, ch in enumerate(reversed(digits)):
		d = ord(ch) - 48
		if i % 2:
			d *= 2
			if d > 9:
				d -= 9
		total += d
	return total % 10 == 0


def _luhn_complete(body):
	for check in '0123456789':
		if luhn_ok(body + check):
			return body + check
	raise AssertionError('unreachable')


def _card_digits(rng, valid):
	prefix, length = rng.choice(_CARD_SHAPES)
	body = prefix + ''.join(rng.choice('0123456789') for _ in range(length - len(prefix) - 1))
	digits = _luhn_complete(body)
	if not valid:
		wrong = (int(digits[-1]) + rng.randrange(1, 10)) % 10
		digits = digits[:-1] + str(wrong)
	return digits


def _card_format(rng, digits):
	r = rng.random()
	if r < 0.4 or len(digits) != 16:
		return digits
	sep = ' ' if r < 0.75 else '-'
	return sep.join(digits[i:i + 4] for i in range(0, 16, 4))


def card_number(rng, valid=True):
	"""A card number as written in mail (digits, or groups of four with spaces/dashes)."""
	return _card_format(rng, _card_digits(rng, valid))


# Taiwan national ID: letter (region code 10..35), sex digit 1/2, 7 digits, check digit.
_TW_LETTER_CODE = dict(zip('ABCDEFGHJKLMNPQRSTUVXYWZIO', range(10, 36)))


def tw_id_ok(s):
	if len(s) != 10 or s[0] not in _TW_LETTER_CODE or s[1] not in '12' or not s[1:].isdigit():
		return False
	code = _TW_LETTER_CODE[s[0]]
	weights = (8, 7, 6, 5, 4, 3, 2, 1, 1)
	total = code // 10 + (code % 10) * 9 + sum(int(d) * w for d, w in zip(s[1:], weights))
	return total % 10 == 0


def tw_national_id(rng, valid=True):
	letter = rng.choice('ABCDEFGHJKLMNPQRSTUVXYWZIO')
	body = letter + rng.choice('12') + ''.join(rng.choice('0123456789') for _ in range(7))
	good = [body + c for c in '0123456789' if tw_id_ok(body + c)]
	if valid:
		return good[0]
	return body + str((int(good[0][-1]) + rng.randrange(1, 10)) % 10)


def eicar_present(data):
	return b'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' in data
