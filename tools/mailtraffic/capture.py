"""Many SMTP sessions interleaved on one wire: a discrete-event scheduler over the
sessions' timed steps, writing frames in time order to a pcap, plus the per-session
index and the plain stream file for the engine benchmark."""

import heapq
import itertools
import json
import random
import struct

from .packets import Endpoint, PcapWriter
from .smtpdialog import VARIANTS, Dialog
from .tcpflow import TcpFlow, build_frame, session_steps

START_US = 1704067200 * 1000000    # 2024-01-01T00:00:00Z
ROUTER_MAC = '02:53:4c:00:00:01'    # the outside side's next hop (locally administered)
CLIENT_NETS = ('198.51.100', '203.0.113')
SERVERS_V4 = ('192.0.2.25', '192.0.2.26', '192.0.2.27')
SERVERS_V6 = ('2001:db8:2::25', '2001:db8:2::26')


class Options:
	def __init__(self, seed=1, sessions=None, packets=None, concurrency=32,
	             per_session=(1, 3), ipv6=0.2, vlan=None, variants=VARIANTS, port=25,
	             refuse_rate=0.03, reject_rate=0.01, rtt_us=(200, 20000)):
		self.seed, self.sessions, self.packets = seed, sessions, packets
		self.concurrency, self.per_session = concurrency, per_session
		self.ipv6, self.vlan, self.variants, self.port = ipv6, vlan, variants, port
		self.refuse_rate, self.reject_rate, self.rtt_us = refuse_rate, reject_rate, rtt_us


class StreamFile:
	"""The sessions' writes, for tools/bench-engine: a magic line, then records
	<u8 kind><u32 length LE><bytes>: kind 1 session begins, 2 client write, 3 server
	write, 4 session ends (lengths 0 for 1 and 4)."""

	def __init__(self, path):
		self.f = open(path, 'wb', buffering=1 << 20)
		self.f.write(b'SLUICE-STREAMS 1\n')

	def session(self, writes):
		rec = struct.Struct('<BI').pack
		self.f.write(rec(1, 0))
		for side, data in writes:
			self.f.write(rec(2 + side, len(data)))
			self.f.write(data)
		self.f.write(rec(4, 0))

	def close(self):
		self.f.close()


class Generator:
	def __init__(self, opts, messages, pcap_path=None, index_path=None, streams_path=None):
		self.o = opts
		self.rng = random.Random(f'{opts.seed}:traffic')
		self.messages = messages          # an iterator of smtpdialog.Message
		self.pcap = PcapWriter(pcap_path) if pcap_path else None
		self.index = open(index_path, 'w', encoding='utf-8') if index_path else None
		self.streams = StreamFile(streams_path) if streams_path else None
		self.ports_in_use = set()
		self.started = 0
		self.packets = 0
		self.exhausted = False

	# -- sessions -----------------------------------------------------------------------
	def want_more(self):
		o = self.o
		if self.exhausted:
			return False
		if o.sessions is not None and self.started >= o.sessions:
			return False
		if o.packets is not None and self.packets >= o.packets:
			return False
		return True

	def take_messages(self, rng):
		lo, hi = self.o.per_session
		out = list(itertools.islice(self.messages, rng.randint(lo, hi)))
		if not out:
			self.exhausted = True
		return out

	def endpoints(self, rng, sid):
		v6 = rng.random() < self.o.ipv6
		while True:
			if v6:
				cip = f'2001:db8:1::{rng.randrange(1, 0xffff):x}'
				sip = rng.choice(SERVERS_V6)
			else:
				cip = f'{rng.choice(CLIENT_NETS)}.{rng.randrange(1, 255)}'
				sip = rng.choice(SERVERS_V4)
			cport = rng.randrange(32768, 61000)
			if (cip, cport) not in self.ports_in_use:
				break
		self.ports_in_use.add((cip, cport))
		server_mac = '02:53:4c:00:01:%02x' % (int(sip.rsplit(':', 1)[-1].rsplit('.', 1)[-1], 16) & 0xff)
		client = Endpoint(ROUTER_MAC, cip, cport)
		server = Endpoint(server_mac, sip, self.o.port)
		return client, server

	def new_session(self):
		"""The next session, or None when the limits are reached or messages ran out."""
		if not self.want_more():
			return None
		sid = self.started
		rng = random.Random(f'{self.o.seed}:session:{sid}')
		msgs = self.take_messages(rng)
		if not msgs:
			return None
		self.started += 1
		client, server = self.endpoints(rng, sid)
		variant = rng.choice(self.o.variants)
		host = server.ip.replace(':', '-').replace('.', '-')
		dialog = Dialog(rng, variant, f'mx-{host}.example.com',
		                f'client{sid}.example.net', self.o.refuse_rate, self.o.reject_rate)
		writes, records = dialog.session(msgs)
		if self.streams:
			self.streams.session(writes)
		flow = TcpFlow(rng, client, server, self.o.vlan)
		lo, hi = self.o.rtt_us
		steps = session_steps(flow, writes, rng, rng.randint(lo, hi))
		info = {'session': sid, 'client': str(client), 'server': str(server),
		        'ipv6': client.v6, 'vlan': self.o.vlan, 'variant': variant,
		        'first_packet': None, 'packets': 0, 'messages': records}
		return _Session(flow, steps, info, (client.ip, client.port))

	# -- the wire -----------------------------------------------------------------------
	def run(self):
		heap = []
		seq = itertools.count()
		t = START_US
		for _ in range(self.o.concurrency):
			s = self.new_session()
			if s is None:
				break
			self.push(heap, seq, s, t)
			t += self.rng.randrange(100, 2000)
		while heap:
			t, _, s = heapq.heappop(heap)
			if s.info['first_packet'] is None:
				s.info['first_packet'] = self.packets
			for off, side, flags, payload, options, ack in s.frames:
				frame = build_frame(s.flow, t + off, side, flags, payload, options, ack)
				if self.pcap:
					self.pcap.write(t + off, frame)
				self.packets += 1
				s.info['packets'] += 1
			step = next(s.steps, None)
			if step is None:
				self.finish(s)
				nxt = self.new_session()
				if nxt is not None:
					self.push(heap, seq, nxt, t + self.rng.randrange(10, 500))
				continue
			delay, s.frames = step
			heapq.heappush(heap, (t + delay, next(seq), s))
		self.close()

	def push(self, heap, seq, s, t):
		delay, s.frames = next(s.steps)
		heapq.heappush(heap, (t + delay, next(seq), s))

	def finish(self, s):
		self.ports_in_use.discard(s.key)
		if self.index:
			self.index.write(json.dumps(s.info, separators=(',', ':')) + '\n')

	def close(self):
		for f in (self.pcap, self.index, self.streams):
			if f:
				f.close()


class _Session:
	__slots__ = ('flow', 'steps', 'info', 'key', 'frames')

	def __init__(self, flow, steps, info, key):
		self.flow, self.steps, self.info, self.key = flow, steps, info, key
		self.frames = None
