"""SMTP sessions as the two peers write them: a list of writes (side, bytes) for a
session carrying some messages, in one of the variants (plain DATA, PIPELINING, BDAT,
BDAT pipelined), and the record of what the server accepted."""

import hashlib

CLIENT, SERVER = 0, 1
VARIANTS = ('plain', 'pipelining', 'bdat', 'bdat-pipelining')


class Message:
	"""One message to send: wire bytes (CRLF) and envelope."""
	__slots__ = ('raw', 'mail_from', 'rcpt_to', 'eight_bit', 'smtputf8', 'source')

	def __init__(self, raw, mail_from, rcpt_to, source, smtputf8=False):
		self.raw = to_wire(raw)
		self.mail_from, self.rcpt_to, self.source = mail_from, list(rcpt_to), source
		self.eight_bit = not self.raw.isascii()
		self.smtputf8 = smtputf8


def to_wire(raw):
	"""CRLF line ends and a final CRLF, as a submitting client sends a message."""
	if b'\n' in raw.replace(b'\r\n', b''):
		raw = raw.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
	if not raw.endswith(b'\r\n'):
		raw += b'\r\n'
	return raw


def dot_stuff(raw):
	"""DATA transparency (RFC 5321 4.5.2) plus the terminator."""
	body = raw.replace(b'\r\n.', b'\r\n..')
	if body.startswith(b'.'):
		body = b'.' + body
	return body + b'.\r\n'


def _queue_id(rng):
	return ''.join(rng.choice('0123456789BCDFGHJKLMNPQRSTVWXZbcdfghjklmnpqrstvwxz')
	               for _ in range(11))


class Dialog:
	"""Builds the writes of one session."""

	def __init__(self, rng, variant, server_name, helo_name, refuse_rate=0.0, reject_rate=0.0):
		self.rng, self.variant = rng, variant
		self.server_name, self.helo_name = server_name, helo_name
		self.refuse_rate, self.reject_rate = refuse_rate, reject_rate
		self.writes = []
		self.records = []

	def c(self, data):
		self.writes.append((CLIENT, data))

	def s(self, data):
		self.writes.append((SERVER, data))

	def ehlo(self, use_helo):
		self.s(f'220 {self.server_name} ESMTP Postfix (Debian/GNU)\r\n'.encode())
		if use_helo:
			self.c(f'HELO {self.helo_name}\r\n'.encode())
			self.s(f'250 {self.server_name}\r\n'.encode())
			return
		self.c(f'EHLO {self.helo_name}\r\n'.encode())
		caps = [self.server_name, 'PIPELINING', 'SIZE 52428800', 'VRFY', 'ETRN',
		        'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING']
		if self.variant == 'plain' and self.rng.random() < 0.5:
			caps.remove('PIPELINING')
			caps.remove('CHUNKING')
		lines = [f'250-{c}\r\n' for c in caps[:-1]] + [f'250 {caps[-1]}\r\n']
		self.s(''.join(lines).encode())

	def mail_cmd(self, m, use_helo):
		params = ''
		if not use_helo:
			params = f' SIZE={len(m.raw)}'
			if m.eight_bit:
				params += ' BODY=8BITMIME'
			if m.smtputf8:
				params += ' SMTPUTF8'
		return f'MAIL FROM:<{m.mail_from}>{params}\r\n'.encode()

	def rcpt_replies(self, m):
		"""Per recipient: accepted? (some refused; rarely all)."""
		rng = self.rng
		if rng.random() < self.refuse_rate / 4:
			return [False] * len(m.rcpt_to)
		ok = [rng.random() >= self.refuse_rate for _ in m.rcpt_to]
		if not any(ok):
			ok[rng.randrange(len(ok))] = True
		return ok

	@staticmethod
	def rcpt_reply(addr, ok):
		if ok:
			return b'250 2.1.5 Ok\r\n'
		return (f'550 5.1.1 <{addr}>: Recipient address rejected: '
		        'User unknown in virtual mailbox table\r\n').encode()

	def final_reply(self, rng):
		if rng.random() < self.reject_rate:
			return False, '554 5.7.1 Message content rejected by policy'
		return True, f'250 2.0.0 Ok: queued as {_queue_id(rng)}'

	def transaction(self, m, use_helo, last):
		"""One MAIL transaction; `last`: QUIT follows (pipelined clients send it along)."""
		rng = self.rng
		ok = self.rcpt_replies(m)
		rcpts = [f'RCPT TO:<{a}>\r\n'.encode() for a in m.rcpt_to]
		replies = [self.rcpt_reply(a, k) for a, k in zip(m.rcpt_to, ok)]
		pipelined = self.variant in ('pipelining', 'bdat-pipelining')
		bdat = self.variant.startswith('bdat')
		rec = {'source': m.source, 'size': len(m.raw), 'sha256': hashlib.sha256(m.raw).hexdigest(),
		       'mail_from': m.mail_from, 'rcpt_to': m.rcpt_to,
		       'rcpt_accepted': [a for a, k in zip(m.rcpt_to, ok) if k],
		       'bdat': bdat, 'accepted': False, 'reply': None, 'quit_pipelined': False}
		self.records.append(rec)
		if pipelined and not bdat:
			self.c(self.mail_cmd(m, use_helo) + b''.join(rcpts) + b'DATA\r\n')
			if not any(ok):
				self.s(b'250 2.1.0 Ok\r\n' + b''.join(replies) +
				       b'554 5.5.1 Error: no valid recipients\r\n')
				rec['reply'] = '554 5.5.1 Error: no valid recipients'
				return False
			self.s(b'250 2.1.0 Ok\r\n' + b''.join(replies) +
			       b'354 End data with <CR><LF>.<CR><LF>\r\n')
		else:
			if pipelined:
				self.c(self.mail_cmd(m, use_helo) + b''.join(rcpts))
				self.s(b'250 2.1.0 Ok\r\n' + b''.join(replies))
			else:
				self.c(self.mail_cmd(m, use_helo))
				self.s(b'250 2.1.0 Ok\r\n')
				for cmd, rep in zip(rcpts, replies):
					self.c(cmd)
					self.s(rep)
			if not any(ok):
				self.c(b'RSET\r\n')
				self.s(b'250 2.0.0 Ok\r\n')
				rec['reply'] = 'no valid recipients (client sent RSET)'
				return False
		accepted, final = self.final_reply(rng)
		rec['accepted'], rec['reply'] = accepted, final
		quit_along = last and pipelined and rng.random() < 0.7
		rec['quit_pipelined'] = quit_along
		tail = b'QUIT\r\n' if quit_along else b''
		tail_reply = b'221 2.0.0 Bye\r\n' if quit_along else b''
		if not bdat:
			if not pipelined:
				self.c(b'DATA\r\n')
				self.s(b'354 End data with <CR><LF>.<CR><LF>\r\n')
			self.c(dot_stuff(m.raw) + tail)
			self.s(final.encode() + b'\r\n' + tail_reply)
			return quit_along
		chunks = self.chunks(m.raw)
		chunk_replies = []
		for i, chunk in enumerate(chunks):
			lastc = i == len(chunks) - 1
			cmd = f'BDAT {len(chunk)}{" LAST" if lastc else ""}\r\n'.encode()
			reply = (final if lastc else f'250 2.0.0 Ok: {len(chunk)} bytes received')
			if pipelined:
				self.c(cmd + chunk + (tail if lastc else b''))
				chunk_replies.append(reply.encode() + b'\r\n')
			else:
				self.c(cmd + chunk)
				self.s(reply.encode() + b'\r\n')
		if pipelined:
			self.s(b''.join(chunk_replies) + tail_reply)
		return quit_along

	def chunks(self, raw):
		"""BDAT chunks: one, or several of 4-64 KiB, sometimes ending with `BDAT 0 LAST`."""
		rng = self.rng
		if len(raw) < 8192 or rng.random() < 0.3:
			out = [raw]
		else:
			out, i = [], 0
			while i < len(raw):
				n = rng.randint(4096, 65536)
				out.append(raw[i:i + n])
				i += n
		if rng.random() < 0.1:
			out.append(b'')
		return out

	def session(self, messages):
		rng = self.rng
		use_helo = (self.variant == 'plain' and rng.random() < 0.1 and
		            not any(m.eight_bit or m.smtputf8 for m in messages))
		self.ehlo(use_helo)
		quit_sent = False
		for i, m in enumerate(messages):
			if i and rng.random() < 0.1:
				self.c(b'NOOP\r\n' if rng.random() < 0.5 else b'RSET\r\n')
				self.s(b'250 2.0.0 Ok\r\n')
			quit_sent = self.transaction(m, use_helo, i == len(messages) - 1)
		if not quit_sent:
			self.c(b'QUIT\r\n')
			self.s(b'221 2.0.0 Bye\r\n')
		return self.writes, self.records
