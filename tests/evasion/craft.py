"""A scripted TCP client built from scapy packets, for evasion tests.

The kernel is not involved: the flow's address (192.0.2.3 / 2001:db8::3 in the lab) and
MAC exist only here, the server has a static neighbour entry for them, and the client
host's kernel drops frames to that MAC. So we choose every segment — its sequence
number, its bytes, their order — and still hold a real SMTP conversation: the flow ACKs
the server's data and collects its replies.
"""
import random
import select
import time

from scapy.all import IP, TCP, Ether, IPv6, Raw, conf

conf.verb = 0
FORGED_TTL = 7  # segments we forge as the server's carry it (Linux sends 64)


class CraftedFlow:
    def __init__(self, iface, src, dst, src_mac, dst_mac, dport=25, sport=None):
        self.v6 = ":" in dst
        self.src, self.dst = src, dst
        self.src_mac, self.dst_mac = src_mac, dst_mac
        self.sport = sport or random.randint(20000, 60999)
        self.dport = dport
        self.isn = random.getrandbits(32)
        self.snd_nxt = self.isn
        self.rcv_nxt = None
        self.acked = None  # the highest acknowledgement the server sent
        self.peer_win = 65535  # the server's last advertised window (no scaling: our SYN has no WS)
        self.window = 65535  # the window we advertise (0: the server must hold its replies)
        self.stream = bytearray()  # server-to-client bytes, in order
        self.fin = self.rst = False
        self._pending = []  # complete replies not yet handed out
        self.sock = conf.L2socket(iface=iface, promisc=True,
                                  filter=f"tcp and src port {dport} and dst port {self.sport}")

    def close_socket(self):
        self.sock.close()

    # -- packets --------------------------------------------------------------------
    def _packet(self, flags, seq, data=b"", urgptr=0, chksum=None, ip_chksum=None):
        ip = (IPv6(src=self.src, dst=self.dst) if self.v6
              else IP(src=self.src, dst=self.dst, flags="DF"))
        if ip_chksum is not None:
            ip.chksum = ip_chksum
        tcp = TCP(sport=self.sport, dport=self.dport, flags=flags, seq=seq % 2**32,
                  ack=(self.rcv_nxt or 0) % 2**32, window=self.window, urgptr=urgptr)
        if "A" not in flags:
            tcp.ack = 0
        if chksum is not None:
            tcp.chksum = chksum
        p = Ether(src=self.src_mac, dst=self.dst_mac) / ip / tcp
        return p / Raw(data) if data else p

    def send_raw(self, flags, seq, data=b"", urgptr=0, bad_checksum=None):
        """One segment; URGPTR with "U" in FLAGS; BAD_CHECKSUM "tcp" (or True): a TCP
        checksum that is not the right one, "ip": an IPv4 header checksum that is not
        (either way a receiver drops the segment)."""
        p = self._packet(flags, seq, data, urgptr)
        if bad_checksum == "ip":
            assert not self.v6, "IPv6 has no header checksum"
            good = Ether(bytes(p))[IP].chksum
            p = self._packet(flags, seq, data, urgptr, ip_chksum=good ^ 0x5a5a)
        elif bad_checksum:
            good = Ether(bytes(p))[TCP].chksum
            p = self._packet(flags, seq, data, urgptr, chksum=good ^ 0x5a5a)
        self.sock.send(p)

    def send_as_server(self, flags, seq, ack):
        """A segment forged as the server's (its address, port and MAC) towards us, sent
        from our side of the wire. Its TTL marks it, so we never take it for the
        server's own."""
        ip = (IPv6(src=self.dst, dst=self.src, hlim=FORGED_TTL) if self.v6
              else IP(src=self.dst, dst=self.src, flags="DF", ttl=FORGED_TTL))
        self.sock.send(Ether(src=self.dst_mac, dst=self.src_mac) / ip /
                       TCP(sport=self.dport, dport=self.sport, flags=flags,
                           seq=seq % 2**32, ack=ack % 2**32, window=65535))

    def send_segment(self, offset, data, base):
        """One data segment at sequence BASE+OFFSET (PSH|ACK)."""
        self.send_raw("PA", base + offset, data)

    # -- receiving ------------------------------------------------------------------
    def poll(self, timeout):
        """Read what the server sent for up to TIMEOUT seconds (returns earlier when a
        packet arrived and no other follows within 50 ms). ACKs in-order data."""
        deadline = time.monotonic() + timeout
        got = False
        while True:
            left = deadline - time.monotonic()
            if got:
                left = min(left, 0.05)
            if left <= 0:
                return got
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return got
            p = self.sock.recv()
            if p is None or TCP not in p or _forged(p):
                continue
            got = True
            self._segment(p[TCP])

    def _segment(self, t):
        if "R" in t.flags:
            self.rst = True
            return
        if "S" in t.flags and "A" in t.flags:
            self.rcv_nxt = t.seq + 1
            self.snd_nxt = self.isn + 1
            return
        if self.rcv_nxt is None:
            return
        if "A" in t.flags and (self.acked is None or _after(t.ack, self.acked)):
            self.acked = t.ack
        if "A" in t.flags:
            self.peer_win = t.window
        data = bytes(t.payload) if t.payload else b""
        if data and t.seq % 2**32 == self.rcv_nxt % 2**32:
            self.stream += data
            self.rcv_nxt += len(data)
        if "F" in t.flags and (t.seq + len(data)) % 2**32 == self.rcv_nxt % 2**32:
            self.rcv_nxt += 1
            self.fin = True
        if data or "F" in t.flags:
            self.send_raw("A", self.snd_nxt)

    # -- the conversation -----------------------------------------------------------
    def connect(self, timeout=5.0):
        self.send_raw("S", self.isn)
        deadline = time.monotonic() + timeout
        while self.rcv_nxt is None and time.monotonic() < deadline and not self.rst:
            self.poll(deadline - time.monotonic())
        if self.rcv_nxt is None:
            raise ConnectionError("no SYN-ACK" + (" (reset)" if self.rst else ""))
        self.send_raw("A", self.snd_nxt)

    def replies(self):
        """Complete SMTP replies received so far (consumed), as (code, text) tuples."""
        out = []
        while True:
            end = _reply_end(self.stream)
            if end < 0:
                return out
            raw = bytes(self.stream[:end])
            del self.stream[:end]
            lines = raw.decode("utf-8", "replace").split("\r\n")[:-1]
            out.append((int(lines[-1][:3]), " ".join(l[4:] for l in lines)))

    def wait_reply(self, timeout=10.0):
        """The next complete reply, or None on timeout or when the server closed."""
        deadline = time.monotonic() + timeout
        while True:
            self._pending += self.replies()
            if self._pending:
                return self._pending.pop(0)
            if self.fin or self.rst or time.monotonic() >= deadline:
                return None
            self.poll(min(0.5, deadline - time.monotonic()))

    def command(self, line, timeout=10.0):
        """Send one command line in one segment; return its reply (or None)."""
        data = line.encode() + b"\r\n"
        self.send_segment(0, data, self.snd_nxt)
        self.snd_nxt += len(data)
        return self.wait_reply(timeout)

    def collect(self, quiet=1.5, limit=15.0):
        """Every reply until the server is quiet for QUIET seconds (or closes)."""
        deadline = time.monotonic() + limit
        last = time.monotonic()
        while time.monotonic() < deadline:
            if self.poll(0.2):
                last = time.monotonic()
            self._pending += self.replies()
            if time.monotonic() - last >= quiet or self.fin or self.rst:
                break
        out, self._pending = self._pending, []
        return out

    def complete(self, base, data, tries=4):
        """Like a real TCP sender: while the server has not acknowledged all of DATA (sent
        from sequence BASE), resend what is missing, in segments of the real bytes."""
        end = (base + len(data)) % 2**32
        for _ in range(tries):
            self.poll(0.3)
            if self.acked is not None and not _after(end, self.acked):
                return True
            if self.fin or self.rst:
                return False
            off = ((self.acked or base) - base) % 2**32
            if off > len(data):
                off = 0
            for o in range(off, len(data), 1400):
                self.send_segment(o, data[o:o + 1400], base)
        return False

    def send_stream(self, data, timeout=20.0, base=None):
        """DATA from sequence BASE (default: snd_nxt) like a real TCP sender: at most the
        server's window in flight, go-back-N from its acknowledgement when it makes no
        progress for 0.3 s. snd_nxt ends after DATA. True once the server acknowledged
        all of it; False on timeout or reset."""
        base = self.snd_nxt if base is None else base
        self.snd_nxt = base + len(data)
        deadline = time.monotonic() + timeout
        sent, best, stalled_since = 0, -1, time.monotonic()
        while True:
            done = self._acked_of(base, len(data))
            if done >= len(data):
                return True
            if self.rst or time.monotonic() > deadline:
                return False
            if done > best:
                best, stalled_since = done, time.monotonic()
            elif time.monotonic() - stalled_since > 0.3:
                sent, stalled_since = done, time.monotonic()  # resend what is missing
            sent = max(sent, done)
            stop = min(len(data), done + max(self.peer_win, 1))
            while sent < stop:
                n = min(1400, stop - sent)
                self.send_segment(sent, data[sent:sent + n], base)
                sent += n
            self.poll(0.05)

    def _acked_of(self, base, length):
        """How many bytes from sequence BASE the server has acknowledged (0..LENGTH)."""
        if self.acked is None:
            return 0
        n = (self.acked - base) % 2**32
        return n if n <= length else 0

    def abort(self):
        self.send_raw("R", self.snd_nxt)


def _forged(p):
    return ((IP in p and p[IP].ttl == FORGED_TTL) or
            (IPv6 in p and p[IPv6].hlim == FORGED_TTL))


def _after(a, b):
    """Sequence number A is after B (modulo 2**32)."""
    return 0 < (a - b) % 2**32 < 2**31


def _reply_end(buf):
    """Offset just past the last line of the first complete reply in BUF, or -1."""
    pos = 0
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return -1
        line = buf[pos:nl]
        if len(line) < 4 or line[3:4] != b"-":
            return nl + 2
        pos = nl + 2
