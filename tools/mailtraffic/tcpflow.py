"""One TCP connection on the wire: handshake, the peers' writes cut into MSS-sized
segments in bursts that the receiver acknowledges (every second segment, as delayed ACK
does), and a FIN teardown started by the server after its 221. Sequence and
acknowledgement numbers, timestamps and checksums are consistent throughout, so
Wireshark's TCP analysis finds nothing to flag."""

from .packets import ACK, FIN, PSH, SYN, FrameBuilder, tcp_options_syn, tcp_options_ts

CLIENT, SERVER = 0, 1
BURST = 10          # segments sent before waiting for the peer's ACKs
WINDOW = 65535      # no window scaling: bursts stay far below the window
SERIALIZE_US = 12   # spacing of frames inside one burst (1500 bytes at 1 Gbit/s)


class TcpFlow:
	def __init__(self, rng, client, server, vlan=None):
		self.ep = (client, server)
		self.fb = FrameBuilder(vlan)
		self.nxt = [rng.getrandbits(32), rng.getrandbits(32)]  # next sequence number to send
		self.rcv = [0, 0]                                      # ack to send (next expected)
		self.ts0 = [rng.getrandbits(31), rng.getrandbits(31)]  # timestamp clock offsets
		self.peer_ts = [0, 0]                                  # last TSval seen from the peer
		self.mss = 1440 if client.v6 else 1460
		self.payload = self.mss - 12                           # timestamps option on data

	def frame(self, side, flags, t_us, payload=b'', options=None, ack=None):
		src, dst = self.ep[side], self.ep[1 - side]
		tsval = (self.ts0[side] + t_us // 1000) & 0xffffffff
		if options is None:
			options = tcp_options_ts(tsval, self.peer_ts[side])
		if ack is None:
			ack = self.rcv[side] if flags & ACK else 0
		f = self.fb.frame(src, dst, self.nxt[side], ack, flags, WINDOW, options, payload)
		self.nxt[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)
		self.rcv[1 - side] = self.nxt[side]
		self.peer_ts[1 - side] = tsval
		return f


def session_steps(flow, writes, rng, rtt_us):
	"""Yields (delay_us, [(offset_us, side, flags, payload, options, ack)]) steps; frames
	are built when the scheduler reaches them (timestamps follow the global clock), and
	before the generator resumes (so it can read the sequence numbers they took)."""
	half = max(rtt_us // 2, 1)
	syn_opts = True
	yield 0, [(0, CLIENT, SYN, b'', syn_opts, None)]
	yield half, [(0, SERVER, SYN | ACK, b'', syn_opts, None)]
	yield half, [(0, CLIENT, ACK, b'', None, None)]
	pay = flow.payload
	prev_side = CLIENT
	for i, (side, data) in enumerate(writes):
		next_side = writes[i + 1][0] if i + 1 < len(writes) else None
		# the server answers after its processing time; a peer writing again goes at once
		delay = half + rng.randrange(50, 400) if side != prev_side else 20
		segs = [data[k:k + pay] for k in range(0, len(data), pay)] or [b'']
		for b in range(0, len(segs), BURST):
			burst = segs[b:b + BURST]
			end_of_write = b + BURST >= len(segs)
			frames = []
			for j, seg in enumerate(burst):
				flags = ACK | (PSH if end_of_write and j == len(burst) - 1 else 0)
				frames.append((j * SERIALIZE_US, side, flags, seg, None, None))
			yield delay, frames
			ends, pos = [], flow.nxt[side] - sum(map(len, burst))
			for seg in burst:
				pos += len(seg)
				ends.append(pos & 0xffffffff)
			delay = half
			# the receiver's ACKs, unless its own next write carries the ACK
			if end_of_write and next_side == 1 - side and len(burst) <= 2:
				continue
			# one ACK per two segments, the last one covering the whole burst
			acks = [(k * SERIALIZE_US, 1 - side, ACK, b'', None, ends[min(2 * k + 1, len(ends) - 1)])
			        for k in range((len(burst) + 1) // 2)]
			yield half, acks
			delay = half
		prev_side = side
	# teardown: the server closes after 221, the client acknowledges and closes
	yield 50, [(0, SERVER, FIN | ACK, b'', None, None)]
	yield half, [(0, CLIENT, FIN | ACK, b'', None, None)]
	yield half, [(0, SERVER, ACK, b'', None, None)]


def build_frame(flow, t_us, side, flags, payload, options, ack):
	if options is True:
		tsval = (flow.ts0[side] + t_us // 1000) & 0xffffffff
		options = tcp_options_syn(flow.mss, tsval, flow.peer_ts[side])
	return flow.frame(side, flags, t_us, payload, options, ack)
