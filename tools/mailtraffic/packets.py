"""Frames: Ethernet (optional 802.1Q tag), IPv4 or IPv6, TCP with options, correct
checksums; and a classic libpcap file writer (microsecond timestamps, LINKTYPE_ETHERNET)."""

import ipaddress
import struct

ETH_IPV4, ETH_IPV6, ETH_VLAN = 0x0800, 0x86DD, 0x8100
PROTO_TCP = 6
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_pack_tcp = struct.Struct('!HHIIBBHHH').pack
_pack_ip4 = struct.Struct('!BBHHHBBH4s4s').pack
_pack_ip6 = struct.Struct('!IHBB16s16s').pack


def checksum(data):
	"""Internet checksum. The ones' complement sum of 16-bit words is the big-endian
	integer modulo 0xffff (2**16 == 1 mod 0xffff), which Python computes in C."""
	if len(data) & 1:
		data += b'\0'
	x = int.from_bytes(data, 'big') % 0xffff
	return 0xffff - x if x else 0


def tcp_options_syn(mss, tsval, tsecr):
	# MSS, NOP NOP TS, NOP NOP SACK-permitted: 20 bytes, as common stacks send
	return (struct.pack('!BBH', 2, 4, mss) + b'\x01\x01' +
	        struct.pack('!BBII', 8, 10, tsval, tsecr) + b'\x01\x01\x04\x02')


def tcp_options_ts(tsval, tsecr):
	return b'\x01\x01' + struct.pack('!BBII', 8, 10, tsval, tsecr)


class Endpoint:
	"""One host of a flow: MAC, IP (v4 or v6), port."""
	__slots__ = ('mac', 'ip', 'ipb', 'port', 'v6')

	def __init__(self, mac, ip, port):
		a = ipaddress.ip_address(ip)
		self.mac = bytes.fromhex(mac.replace(':', ''))
		self.ip, self.ipb, self.port, self.v6 = str(a), a.packed, port, a.version == 6

	def __str__(self):
		return f'[{self.ip}]:{self.port}' if self.v6 else f'{self.ip}:{self.port}'


class FrameBuilder:
	"""Builds frames between two endpoints (IPv4 identification counters per direction)."""

	def __init__(self, vlan=None):
		self.vlan = vlan
		self.ip_id = {}

	def frame(self, src, dst, seq, ack, flags, window, options, payload):
		tcp_len = 20 + len(options)
		hdr = _pack_tcp(src.port, dst.port, seq & 0xffffffff, ack & 0xffffffff,
		                (tcp_len // 4) << 4, flags, window, 0, 0) + options
		seglen = tcp_len + len(payload)
		if src.v6:
			pseudo = src.ipb + dst.ipb + struct.pack('!IxxxB', seglen, PROTO_TCP)
		else:
			pseudo = src.ipb + dst.ipb + struct.pack('!xBH', PROTO_TCP, seglen)
		c = checksum(pseudo + hdr + payload)
		tcp = hdr[:16] + struct.pack('!H', c) + hdr[18:] + payload
		if src.v6:
			ip = _pack_ip6(0x60000000, seglen, PROTO_TCP, 64, src.ipb, dst.ipb)
			etype = ETH_IPV6
		else:
			ident = self.ip_id.get(src.ipb, 0x1000)
			self.ip_id[src.ipb] = (ident + 1) & 0xffff
			h = _pack_ip4(0x45, 0, 20 + seglen, ident, 0x4000, 64, PROTO_TCP, 0, src.ipb, dst.ipb)
			ip = h[:10] + struct.pack('!H', checksum(h)) + h[12:]
			etype = ETH_IPV4
		if self.vlan is not None:
			eth = dst.mac + src.mac + struct.pack('!HHH', ETH_VLAN, self.vlan & 0x0fff, etype)
		else:
			eth = dst.mac + src.mac + struct.pack('!H', etype)
		return eth + ip + tcp


class PcapWriter:
	"""Classic pcap (magic a1b2c3d4), snaplen 65535, Ethernet. Timestamps never go back."""

	def __init__(self, path):
		self.f = open(path, 'wb', buffering=1 << 20)
		self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		self.last = 0
		self.count = 0
		self.bytes = 0

	def write(self, t_us, frame):
		t_us = max(t_us, self.last)
		self.last = t_us
		self.f.write(struct.pack('<IIII', t_us // 1000000, t_us % 1000000, len(frame), len(frame)))
		self.f.write(frame)
		self.count += 1
		self.bytes += len(frame)

	def close(self):
		self.f.close()
