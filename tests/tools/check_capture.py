#!/usr/bin/python3
"""Checks a capture written by tools/trafficgen, reading it with tshark (and scapy):

  - tshark finds no expert warning or error (bad checksums, TCP analysis flags such as
    lost segments, retransmissions, duplicate ACKs, malformed packets);
  - every frame fits a 1500-byte MTU, addresses are from the documentation ranges, and
    every session of the index is there with its endpoints (IPv4/IPv6, VLAN as indexed);
  - per TCP stream, the payloads reassembled by sequence number are contiguous, and the
    messages carried in the client stream (DATA un-stuffed, BDAT chunks joined) are,
    in order, the indexed messages, byte for byte equal to the source .eml files;
  - tshark's own SMTP/IMF reassembly (--export-objects imf) of the DATA messages gives
    the same bytes (still dot-stuffed: tshark exports DATA as sent; and it drops trailing
    empty lines, so those are not compared), except where the
    CRLF.CRLF terminator starts a segment, crosses segments or has a pipelined QUIT
    behind it in its segment (and after that in the session), which tshark's SMTP
    dissector does not follow;
  - scapy reads the capture and recomputes the same TCP checksums (first 2000 frames).

The wire form of a source file and DATA's dot-stuffing are this checker's own, line by
line from RFC 5321, not the generator's functions.

usage: check_capture.py PCAP INDEX.jsonl CORPUS_DIR
"""

import collections
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

DOC_NETS = [ipaddress.ip_network(n) for n in
            ('192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32')]
failures = []


def wire_lines(raw):
	"""The lines of a message as a client submits it (RFC 5321 2.3.8: every line ends
	in CRLF): a file's lines end at LF, with or without CR before it; a last line
	without an end gets CRLF (an empty file is one empty line)."""
	pieces = raw.split(b'\n')
	lines = [p[:-1] if p.endswith(b'\r') else p for p in pieces[:-1]]
	if pieces[-1] or not raw:
		lines.append(pieces[-1])
	return lines


def wire_form(raw):
	return b''.join(line + b'\r\n' for line in wire_lines(raw))


def stuffed_data(raw):
	"""DATA as sent (RFC 5321 4.5.2): a line starting with a period gets one more, and
	the line '.' ends it."""
	return b''.join((b'.' if line.startswith(b'.') else b'') + line + b'\r\n'
	                for line in wire_lines(raw)) + b'.\r\n'


def tshark(*args):
	r = subprocess.run(['tshark', '-n', *args], capture_output=True, text=True)
	if r.returncode:
		sys.exit(f'tshark failed: {r.stderr}')
	return r.stdout


def check_expert(pcap):
	out = tshark('-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
	             '-Y', '_ws.expert.severity >= "Warning" || tcp.analysis.flags || _ws.malformed')
	bad = [line for line in out.splitlines() if line.strip()]
	if bad:
		failures.append(f'tshark flags {len(bad)} frames, first: {bad[0].strip()}')


def read_segments(pcap):
	"""{stream: {'ends': (src, dst), 'vlan':..., 'dirs': {src: [(seq, payload)]}}}"""
	out = tshark('-r', pcap, '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'fields',
	             '-E', 'separator=|', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'ipv6.src',
	             '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
	             '-e', 'tcp.seq_raw', '-e', 'tcp.flags', '-e', 'vlan.id', '-e', 'frame.len',
	             '-e', 'tcp.payload')
	streams = {}
	for line in out.splitlines():
		st, s4, s6, d4, d6, sp, dp, seq, flags, vlan, flen, payload = line.split('|')
		src, dst = f'{s4 or "[" + s6 + "]"}:{sp}', f'{d4 or "[" + d6 + "]"}:{dp}'
		for ip in (s4 or s6, d4 or d6):
			if not any(ipaddress.ip_address(ip) in n for n in DOC_NETS):
				failures.append(f'address {ip} outside the documentation ranges')
		if int(flen) > 1514 + (4 if vlan else 0):
			failures.append(f'stream {st}: frame of {flen} bytes exceeds the MTU')
		s = streams.setdefault(int(st), {'syn': None, 'vlan': vlan or None, 'dirs': {}})
		if int(flags, 16) & 0x12 == 0x02:
			s['syn'] = (src, dst)
		s['dirs'].setdefault(src, []).append((int(seq), bytes.fromhex(payload)))
	return streams


def reassemble(segs, where):
	"""Payload bytes in sequence order, and the stream offsets where segments begin; a
	gap or an overlap is a failure."""
	segs = sorted((q, p) for q, p in segs if p)
	data, starts, nxt, off = [], set(), None, 0
	for seq, p in segs:
		if nxt is not None and seq != nxt:
			failures.append(f'{where}: segment at {seq}, expected {nxt}')
		data.append(p)
		starts.add(off)
		off += len(p)
		nxt = (seq + len(p)) & 0xffffffff
	return b''.join(data), starts


def client_messages(stream, records):
	"""(message bytes, stream offset of the CRLF.CRLF terminator or None for BDAT) of the
	client stream: DATA (un-stuffed) or BDAT chunks joined.
	DATA carries content only when a recipient was accepted (else the server refused
	DATA, as the index records)."""
	msgs, pos, rec = [], 0, iter(records)
	cur = None
	while pos < len(stream):
		eol = stream.index(b'\r\n', pos)
		line = stream[pos:eol]
		pos = eol + 2
		verb = line.split(b' ', 1)[0].upper()
		if verb == b'MAIL':
			cur = next(rec)
		elif verb == b'DATA' and cur['rcpt_accepted']:
			end = stream.index(b'\r\n.\r\n', pos - 2)
			body = stream[pos:end + 2]
			lines = body.split(b'\r\n')
			body = b'\r\n'.join(l[1:] if l.startswith(b'.') else l for l in lines)
			msgs.append((body, end))
			pos = end + 5
		elif verb == b'BDAT':
			args = line.split()
			n = int(args[1])
			chunk = stream[pos:pos + n]
			pos += n
			if cur.get('_parts') is None:
				cur['_parts'] = []
			cur['_parts'].append(chunk)
			if len(args) > 2 and args[2].upper() == b'LAST':
				msgs.append((b''.join(cur.pop('_parts')), None))
	return msgs


def main():
	pcap, index, corpus = sys.argv[1:4]
	sessions = [json.loads(line) for line in open(index)]
	check_expert(pcap)
	streams = read_segments(pcap)
	by_ends = {s['syn']: s for s in streams.values()}
	source_cache = {}
	nmsg = ndata = 0
	data_hashes = collections.Counter()
	split_term = collections.Counter()
	for sess in sessions:
		s = by_ends.get((sess['client'], sess['server']))
		if s is None:
			failures.append(f"session {sess['session']} ({sess['client']}) not in the capture")
			continue
		want_vlan = str(sess['vlan']) if sess['vlan'] is not None else None
		if s['vlan'] != want_vlan:
			failures.append(f"session {sess['session']}: VLAN {s['vlan']} != {want_vlan}")
		where = f"session {sess['session']}"
		client, starts = reassemble(s['dirs'].get(sess['client'], []), where + ' client')
		reassemble(s['dirs'].get(sess['server'], []), where + ' server')
		got = client_messages(client, sess['messages'])
		sent = [m for m in sess['messages'] if m['rcpt_accepted']]
		if len(got) != len(sent):
			failures.append(f'{where}: {len(got)} messages in the stream, index has {len(sent)}')
			continue
		tshark_lost = False
		for (body, term), m in zip(got, sent):
			nmsg += 1
			if m['source'] not in source_cache:
				with open(os.path.join(corpus, m['source']), 'rb') as f:
					source_cache[m['source']] = wire_form(f.read())
			src = source_cache[m['source']]
			if not m['bdat']:
				# tshark's IMF export keeps the dot-stuffing: compare with the stuffed form
				ndata += 1
				h = hashlib.sha256(stuffed_data(src)[:-3].rstrip(b'\r\n')).hexdigest()
				data_hashes[h] += 1
				# tshark's SMTP dissector finds the terminator only inside one segment,
				# not at its start, and ending it (no pipelined QUIT behind); elsewhere
				# it misses that end and runs the rest of the session's DATA together
				# (only our own check above sees those)
				ends_segment = term + 5 in starts or term + 5 == len(client)
				if tshark_lost or not ends_segment or any(term + k in starts for k in range(5)):
					split_term[h] += 1
					tshark_lost = True
			if body != src or hashlib.sha256(body).hexdigest() != m['sha256']:
				failures.append(f"{where}: message {m['source']} differs from the source")
	# tshark's own reassembly of DATA (its IMF export names files by subject, so compare
	# the multiset of contents)
	with tempfile.TemporaryDirectory() as d:
		tshark('-r', pcap, '-q', '--export-objects', f'imf,{d}')
		exported = collections.Counter(
			hashlib.sha256(open(os.path.join(d, f), 'rb').read().rstrip(b'\r\n')).hexdigest()
			for f in os.listdir(d))
	# distinct contents (tshark's export is not reliable about repeated ones)
	unexplained = set(data_hashes) - set(exported) - set(split_term)
	if unexplained:
		failures.append(f'tshark IMF export lacks {len(unexplained)} of {len(data_hashes)} '
		                'distinct DATA messages whose terminator ends a segment')
	check_scapy(pcap)
	print(f'{len(sessions)} sessions, {len(streams)} TCP streams, {nmsg} messages '
	      f'({ndata} by DATA) checked')
	for f in failures[:30]:
		print('FAIL', f)
	if failures:
		print(f'{len(failures)} failures')
		sys.exit(1)


def check_scapy(pcap):
	from scapy.all import IP, IPv6, TCP, PcapReader
	n = 0
	for pkt in PcapReader(pcap):
		if n >= 2000:
			break
		n += 1
		if TCP not in pkt:
			failures.append(f'scapy: frame {n} has no TCP layer')
			continue
		have = pkt[TCP].chksum
		ip = pkt[IP] if IP in pkt else pkt[IPv6]
		clone = ip.__class__(bytes(ip))
		del clone[TCP].chksum
		if clone.__class__(bytes(clone))[TCP].chksum != have:
			failures.append(f'scapy: frame {n} TCP checksum differs')


if __name__ == '__main__':
	main()
