"""The attacks of issue 8 ("no byte reaches a mail host unscanned"), as crafted sessions
(craft.CraftedFlow) for the live differential test (differential.py). Each plays one
whole SMTP session whose aim is to get a forbidden marker — the card number, the EICAR
file, a smuggled message — into a message the server accepts without the gateway having
scanned it; what the server's application really read decides (tests/lab/peers/
recorder.py), not a model of it.

`finding` names the finding of issue 8 the attack probes.
"""
import base64
import random
import time
from dataclasses import dataclass

import session
from cases import CARD, card_message, harmless  # (puts tests/lab/peers on the path)
import smuggling  # noqa: E402

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


@dataclass
class Attack:
    name: str
    finding: str
    note: str
    play: object  # play(flow, result, msg_id, opts)


def b64(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def headers(msg_id, subject):
    return (f"From: Alice Sender <alice@example.org>\r\n"
            f"To: Bob Receiver <bob@example.net>\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <{msg_id}@lab.example.org>\r\n"
            f"MIME-Version: 1.0\r\n").encode()


def card_split(msg_id):
    """The card message (cases.card_message) and where its card number starts."""
    data, at = card_message(msg_id)
    return data, at


def head_then_rest(flow, r, data, at):
    """DATA's bytes before AT, sent and acknowledged (the attack comes next)."""
    if not session.begin(flow, r):
        return False
    if not flow.send_stream(data[:at], timeout=5):
        r["error"] = "the server did not acknowledge the message's first bytes"
        return False
    return True


# -- 1. SYN on an established flow --------------------------------------------------
def syn_aligned(flow, r, msg_id, opts):
    """A SYN whose new ISN puts its first byte where the server expects the next one:
    Linux challenge-ACKs it and keeps the connection; a gateway that restarts the stream
    at the new ISN forwards what follows without parsing it."""
    data, at = card_split(msg_id)
    if not head_then_rest(flow, r, data, at):
        return
    flow.send_raw("S", flow.snd_nxt - 1)
    flow.poll(0.3)
    r["acked_all"] = flow.send_stream(data[at:], timeout=5)
    session.end(flow, r)


def syn_random(flow, r, msg_id, opts):
    """A SYN with an unrelated new ISN, the card in that new sequence space (Linux drops
    it: out of window), then the card again in the connection's real sequence space."""
    data, at = card_split(msg_id)
    if not head_then_rest(flow, r, data, at):
        return
    isn = (flow.snd_nxt + random.randint(2**30, 2**31)) % 2**32
    flow.send_raw("S", isn)
    flow.poll(0.3)
    rest = data[at:]
    flow.send_segment(0, rest, isn + 1)
    flow.poll(0.3)
    r["acked_all"] = flow.send_stream(rest, timeout=4)
    session.end(flow, r)


# -- 2. RST the receiver ignores ----------------------------------------------------
def rst_in_window(flow, r, msg_id, opts):
    """A RST 100 bytes ahead of the server's next expected byte: in the window, so Linux
    answers with a challenge ACK and keeps the connection (RFC 5961). Then a wait past
    the gateway's closed_timeout, and the card in the connection's own sequence space."""
    data, at = card_split(msg_id)
    if not head_then_rest(flow, r, data, at):
        return
    flow.send_raw("R", flow.snd_nxt + 100)
    flow.poll(0.3)
    time.sleep(opts.closed_wait)
    r["acked_all"] = flow.send_stream(data[at:], timeout=5)
    session.end(flow, r)


# -- 3. TCP urgent data -------------------------------------------------------------
def urgent_in_card(flow, r, msg_id, opts):
    """"4111 1111 X1111 1111" with X sent as TCP urgent data (URG, pointer just past X):
    a receiver without SO_OOBINLINE takes X out of the stream, so its application reads
    the card number."""
    data, at = card_split(msg_id)
    x = at + 10  # before the card's third group
    sent = data[:x] + b"X" + data[x:]
    if not head_then_rest(flow, r, sent, at):
        return
    base, seg = flow.snd_nxt, sent[at:]
    flow.send_raw("PAU", base, seg, urgptr=x - at + 1)
    r["acked_all"] = flow.send_stream(seg, base=base, timeout=5)
    session.end(flow, r)


# -- 4. held bytes overflow past STARTTLS --------------------------------------------
def tls_records(size, seed=8):
    """TLS handshake-looking records (16 03 01 ...) of SIZE bytes or more, no CR or LF."""
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        body = bytes(rnd.choice(range(14, 256)) for _ in range(16384))
        out += b"\x16\x03\x01" + len(body).to_bytes(2, "big") + body
    return bytes(out)


def starttls_overflow(flow, r, msg_id, opts):
    """With starttls = strip the gateway hides STARTTLS; the client sends it anyway and,
    before the server's refusal can come back (our window is 0, so the server must hold
    it), more than 256 KiB of TLS records. The server stays in plaintext (it refused);
    then plaintext MAIL/RCPT/DATA with the card."""
    if not session.greet(flow, r):
        return
    r["ehlo"] = r["steps"][-1][1]
    stream = b"STARTTLS\r\n" + tls_records(270 * 1024) + b"\r\n"
    flow.window = 0
    base = flow.snd_nxt
    for o in range(0, len(stream), 1400):  # all at once, whatever the server's window
        flow.send_segment(o, stream[o:o + 1400], base)
    flow.poll(0.3)
    flow.window = 65535
    flow.send_raw("A", flow.acked if flow.acked is not None else base)  # window update
    if not flow.send_stream(stream, base=base, timeout=20):
        r["error"] = "the TLS records were not all acknowledged"
    r["tls_replies"] = flow.collect(quiet=0.5, limit=5)
    if "error" in r or not session.transaction(flow, r):
        return
    data, _ = card_split(msg_id)
    r["acked_all"] = flow.send_stream(data, timeout=5)
    session.end(flow, r)


# -- 6. RCPT flood ------------------------------------------------------------------
RCPT_FLOOD = 4200


def rcpt_flood(flow, r, msg_id, opts):
    """MAIL, 4200 pipelined RCPTs (more than the engine's 4096 commands awaiting
    replies) and DATA in one stream; after the 354, the card message."""
    if not session.greet(flow, r):
        return
    cmds = (session.MAIL.encode() + b"\r\n" +
            b"".join(b"RCPT TO:<r%d@example.net>\r\n" % i for i in range(RCPT_FLOOD)) +
            b"DATA\r\n")
    if not flow.send_stream(cmds, timeout=30):
        r["error"] = "the pipelined commands were not all acknowledged"
        return
    want, replies = RCPT_FLOOD + 2, []
    deadline = time.monotonic() + 20
    while len(replies) < want and not (flow.fin or flow.rst) and time.monotonic() < deadline:
        flow.poll(0.2)
        replies += flow.replies()
    codes = {}
    for code, _ in replies:
        codes[str(code)] = codes.get(str(code), 0) + 1
    r["flood_replies"] = codes
    if len(replies) != want or replies[-1][0] != 354:
        r["error"] = f"{len(replies)} replies to {want} commands, last {replies[-1:]}"
        return
    data, _ = card_split(msg_id)
    r["acked_all"] = flow.send_stream(data, timeout=5)
    session.end(flow, r)


# -- 10. parser caps ----------------------------------------------------------------
def part(boundary, head, body):
    return b"--" + boundary + b"\r\n" + head + b"\r\n" + body


def nested_message(msg_id, depth=33):
    """multipart/mixed nested DEPTH deep; the innermost holds the card (base64 text)
    and the EICAR file (a base64 attachment)."""
    b = b"n%d" % depth
    inner = (part(b, b"Content-Type: text/plain; charset=us-ascii\r\n"
                     b"Content-Transfer-Encoding: base64\r\n",
                  b64(b"please charge " + CARD + b", expiry 12/29\r\n")) +
             part(b, b'Content-Type: application/octet-stream; name="notes.dat"\r\n'
                     b'Content-Disposition: attachment; filename="notes.dat"\r\n'
                     b"Content-Transfer-Encoding: base64\r\n", b64(EICAR)) +
             b"--" + b + b"--\r\n")
    for level in range(depth - 1, 0, -1):
        inner = (part(b"n%d" % level,
                      b'Content-Type: multipart/mixed; boundary="n%d"\r\n' % (level + 1), inner) +
                 b"--n%d--\r\n" % level)
    return (headers(msg_id, "Quarterly report") +
            b'Content-Type: multipart/mixed; boundary="n1"\r\n\r\n' + inner + b".\r\n")


def long_content_type_message(msg_id, pad_bytes=70 * 1024):
    """A Content-Type field of more than 64 KiB (folded parameters) whose boundary
    parameter comes last; the card in a base64 part."""
    pad = bytearray()
    i = 0
    while len(pad) < pad_bytes:
        pad += b';\r\n x-pad-%04d="%s"' % (i, b"a" * 56)
        i += 1
    body = (part(b"cut-here", b"Content-Type: text/plain\r\n", b"The card is attached.\r\n") +
            part(b"cut-here", b'Content-Type: application/octet-stream; name="card.dat"\r\n'
                              b"Content-Transfer-Encoding: base64\r\n",
                 b64(b"card " + CARD + b" expiry 12/29\r\n")) +
            b"--cut-here--\r\n")
    return (headers(msg_id, "Invoice") + b"Content-Type: multipart/mixed" + bytes(pad) +
            b';\r\n boundary="cut-here"\r\n\r\n' + body + b".\r\n")


def whole_message(make):
    def play(flow, r, msg_id, opts):
        if not session.begin(flow, r):
            return
        r["acked_all"] = flow.send_stream(make(msg_id), timeout=10)
        session.end(flow, r)
    return play


# -- decoys -------------------------------------------------------------------------
def bad_checksum_decoy(which):
    def play(flow, r, msg_id, opts):
        """The card's segment with a wrong checksum (WHICH: "tcp", or "ip" for the IPv4
        header's; the server drops it), then the same bytes harmless with a good one:
        the server gets the harmless message."""
        data, at = card_split(msg_id)
        s, e = at - 6, at + len(CARD) + 6
        if not head_then_rest(flow, r, data, s):
            return
        base = flow.snd_nxt
        flow.send_raw("PA", base, data[s:e], bad_checksum=which)
        flow.poll(0.1)
        rest = harmless(data[s:e], s, at) + data[e:]
        r["acked_all"] = flow.send_stream(rest, base=base, timeout=5)
        session.end(flow, r)
    return play


def bad_checksum_cover(which):
    def play(flow, r, msg_id, opts):
        """The other way round: the card's bytes first go harmless with a wrong checksum
        (WHICH as above; the server drops them), then with the card and a good one, as
        a sender retransmits: a gateway that took the dropped copy for the data lets the
        card through unscanned."""
        data, at = card_split(msg_id)
        s, e = at - 6, at + len(CARD) + 6
        if not head_then_rest(flow, r, data, s):
            return
        base = flow.snd_nxt
        flow.send_raw("PA", base, harmless(data[s:e], s, at), bad_checksum=which)
        flow.poll(0.1)
        r["acked_all"] = flow.send_stream(data[s:], base=base, timeout=5)
        session.end(flow, r)
    return play


def decoy_without_ack(forge_server_ack):
    def play(flow, r, msg_id, opts):
        """The card's bytes first go harmless in a segment without the ACK flag (Linux
        discards data without ACK on an established connection); with FORGE_SERVER_ACK,
        an ACK forged as the server's, sent from the client's side, acknowledges them, so
        a gateway that takes direction from the addresses alone forgets its copy; then
        the same bytes with the card and ACK, as a real sender retransmits them."""
        data, at = card_split(msg_id)
        s, e = at - 6, at + len(CARD) + 6
        if not head_then_rest(flow, r, data, s):
            return
        base = flow.snd_nxt
        decoy = harmless(data[s:e], s, at)
        flow.send_raw("P", base, decoy)
        flow.poll(0.1)
        if forge_server_ack:
            flow.send_as_server("A", flow.rcv_nxt, base + len(decoy))
            flow.poll(0.1)
        r["acked_all"] = flow.send_stream(data[s:], base=base, timeout=5)
        session.end(flow, r)
    return play


# -- smuggling, sent in order -------------------------------------------------------
def smuggle_split(variant):
    def play(flow, r, msg_id, opts):
        """The outer message (with the card) up to and with the end-of-data VARIANT in one
        segment, the server's answers awaited, then the smuggled transaction: a server
        that takes VARIANT as the end of data has accepted the outer message before the
        gateway saw anything of what follows it."""
        data = smuggling.data_bytes(variant, msg_id).replace(
            b"See you at noon.", b"See you at noon. My card: " + CARD + b".", 1)
        at = data.index(smuggling.VARIANTS[variant]) + len(smuggling.VARIANTS[variant])
        if not session.begin(flow, r):
            return
        flow.send_stream(data[:at], timeout=5)
        r["outer_replies"] = flow.collect(quiet=0.5, limit=5)
        r["acked_all"] = flow.send_stream(data[at:], timeout=5)
        session.end(flow, r)
    return play


ATTACKS = [
    Attack("syn-new-isn", "1 SYN on an established flow", "new ISN = next byte - 1, card after it", syn_aligned),
    Attack("syn-random-isn", "1 SYN on an established flow", "random new ISN, card in the new then the real space", syn_random),
    Attack("rst-in-window", "2 in-window RST the receiver ignores", "RST at next+100, wait past closed_timeout, card", rst_in_window),
    Attack("urgent-in-card", "3 TCP urgent data", "4111 1111 X1111 1111, X urgent", urgent_in_card),
    Attack("starttls-overflow", "4 held bytes overflow (STARTTLS)", "starttls=strip, STARTTLS + 270 KiB of 16 03 01 before the refusal", starttls_overflow),
    Attack("rcpt-flood", "6 memory / pending commands", f"{RCPT_FLOOD} pipelined RCPTs, then the card", rcpt_flood),
    Attack("nested-33", "10 parser caps (depth)", "multipart nested 33 deep: card + EICAR innermost", whole_message(nested_message)),
    Attack("content-type-64k", "10 parser caps (header)", "70 KiB Content-Type, boundary last, card in base64", whole_message(long_content_type_message)),
    Attack("bad-checksum-decoy", "classic decoy", "card with a wrong checksum, then harmless", bad_checksum_decoy("tcp")),
    Attack("bad-checksum-cover", "classic decoy", "harmless with a wrong checksum, then the card", bad_checksum_cover("tcp")),
    Attack("bad-ip-checksum-decoy", "classic decoy", "card with a wrong IPv4 header checksum, then harmless", bad_checksum_decoy("ip")),
    Attack("bad-ip-checksum-cover", "classic decoy", "harmless with a wrong IPv4 header checksum, then the card", bad_checksum_cover("ip")),
    Attack("no-ack-decoy", "classic decoy", "harmless without ACK (Linux discards it), then the card", decoy_without_ack(False)),
    Attack("forged-server-ack", "8 direction from addresses", "decoy without ACK, forged server ACK from outside, card", decoy_without_ack(True)),
] + [
    Attack(f"smuggle-split-{v}", "smuggling sent in order", f"card, {smuggling.VARIANTS[v]!r}, wait, smuggled MAIL",
           smuggle_split(v)) for v in smuggling.POSTFIX_ENDS_DATA
]
