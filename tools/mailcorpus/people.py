"""The population that writes the corpus: people with names, addresses, a language and
the charsets their mail client uses."""

from .vocab import vocabulary

# What a person's client sends Chinese text in (weights). Simplified text is labelled
# gb2312, gbk or gb18030 — all decode GB2312 text the same way.
CHARSETS = {
	'en': (('us-ascii', 1),),
	'hant': (('utf-8', 5), ('big5', 4)),
	'hans': (('utf-8', 5), ('gb2312', 2), ('gbk', 2), ('gb18030', 1)),
}


class Person:
	__slots__ = ('name', 'addr', 'lang', 'charset', 'internal', 'first')

	def __init__(self, name, addr, lang, charset, internal, first):
		self.name, self.addr, self.lang = name, addr, lang
		self.charset, self.internal, self.first = charset, internal, first

	def as_json(self):
		return {'name': self.name, 'addr': self.addr}


def _weighted(rng, pairs):
	return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def population(rng, size=600):
	"""People, about half internal (example.com domains); 55% English names, the rest
	Chinese (Traditional or Simplified). Addresses are unique."""
	v = vocabulary()
	people, seen = [], set()
	while len(people) < size:
		internal = rng.random() < 0.5
		domain = rng.choice(v.internal_domains if internal else v.external_domains)
		r = rng.random()
		if r < 0.55:
			lang = 'en'
			first, last = rng.choice(v.first_en), rng.choice(v.last_en)
			name = f'{first} {last}'
			if rng.random() < 0.1:
				name = f'{last}, {first}'
			local = f'{first}.{last}'.lower() if rng.random() < 0.7 else (first[0] + last).lower()
		else:
			lang = 'hant' if r < 0.8 else 'hans'
			sur = rng.choice(v.surnames_zh)
			giv = rng.choice(v.given_zh)
			k = 0 if lang == 'hant' else 1
			name = sur[k] + giv[k]
			first = giv[k]
			local = f'{sur[2]}.{giv[2]}' if rng.random() < 0.6 else f'{giv[2]}.{sur[2]}'
		addr = f'{local}@{domain}'
		n = 2
		while addr in seen:
			addr = f'{local}{n}@{domain}'
			n += 1
		seen.add(addr)
		if rng.random() < 0.05:
			name = ''  # some senders have no display name
		charset = _weighted(rng, CHARSETS[lang])
		people.append(Person(name, addr, lang, charset, internal, first))
	return people


def direction(sender, recipients):
	"""As the sample internal section of the shipped policy sees it (by domain)."""
	if not sender.internal:
		return 'inbound'
	return 'internal' if all(r.internal for r in recipients) else 'outbound'
