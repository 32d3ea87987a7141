#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_dp_stream (tests/fuzz/seeds/dp_stream/): the live
evasion cases of tests/evasion/cases.py (overlaps both ways, out of order, 1-byte
segments, retransmissions with other bytes, every smuggling variant) and issue 8's cases
(mid-flow SYN with a new ISN, a RST the server ignores then a wait past closed_timeout,
an urgent byte inside the marker, a RCPT flood, STARTTLS strip with > 256 KiB of TLS
records before the refusal), as fuzz_dp_stream scripts (the format is described at the
top of fuzz_dp_stream.c). The forbidden content is the harness policy's marker
(FORBIDDEN) where the live test uses a card number.

Usage: gen_dp_stream_seeds.py [DIR]   (default: the seeds directory next to it)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "evasion"))
import cases  # noqa: E402
import smuggling  # noqa: E402  (cases.py put tests/lab/peers on the path)

MARKER = b"FORBIDDEN"
# opcodes and canned client texts of fuzz_dp_stream.c
(CLIENT_SAY, CLIENT_RAW, CLIENT_PUT, CLIENT_PUT_RAW, CLIENT_SEG, CLIENT_CTL, SERVER_SEND,
 SERVER_CTL, DECIDE, FORGE, TICK, DELIVER, OPEN, CONVERSE, SERVER_RAW, CLIENT_SEG_AT) = range(16)
EHLO, MAIL, RCPT, DATA, SUBJECT, T_MARKER, HARMLESS, EOD, DOT, QUIT = range(10)
TLS_BLOB, CRLF = 17, 30
SEG_FIN, SEG_URG, SEG_NOACK, SEG_BADCSUM, SEG_MUTATE, SEG_INSIDE = 1, 2, 4, 8, 16, 32
SEG_AT_BOGUS_ACK = 64  # CLIENT_SEG_AT only
# the client stream after CONVERSE 1 (EHLO, MAIL, RCPT, DATA)
HANDSHAKE = (b"EHLO client.example.org\r\n" b"MAIL FROM:<alice@example.org>\r\n"
             b"RCPT TO:<bob@example.net>\r\n" b"DATA\r\n")


class Script:
    def __init__(self, cfg0=0, cfg1=0):
        self.b = bytearray([cfg0, cfg1])
        self.stream = 0  # client stream length, for absolute offsets

    def op(self, *args):
        self.b += bytes(args)
        return self

    def open_to_data(self):
        self.op(OPEN).op(CONVERSE, 1)
        self.stream = len(HANDSHAKE)
        return self

    def put(self, data):
        """Client stream bytes, not sent yet; returns their offset."""
        at = self.stream
        for i in range(0, len(data), 255):
            part = data[i:i + 255]
            self.op(CLIENT_PUT_RAW, len(part)).b += part
        self.stream += len(data)
        return at

    def say(self, data):
        for i in range(0, len(data), 255):
            part = data[i:i + 255]
            self.op(CLIENT_RAW, len(part)).b += part
        self.stream += len(data)
        return self

    def seg_at(self, off, length, flags=0):
        while length > 0:
            n = min(length, 255)
            self.op(CLIENT_SEG_AT, off >> 8, off & 255, n, flags)
            off += n
            length -= n
        return self

    def schedule(self, base, sched, harmless_at=()):
        """cases.py schedule (offset into data, bytes): one segment each, with the X'd
        copy (mutate) where the case sends a harmless one."""
        for i, (off, seg) in enumerate(sched):
            self.seg_at(base + off, len(seg), SEG_MUTATE if i in harmless_at else 0)
        return self


def marker_message(msg_id):
    data, card_off = cases.card_message(msg_id)
    return data.replace(cases.CARD, MARKER + b" 1111 1111"), card_off


def harmless_indexes(sched, data):
    return {i for i, (off, seg) in enumerate(sched) if seg != data[off:off + len(seg)]}


def evasion_seeds():
    seeds = {}
    for c in cases.build("fz"):
        if c.forbidden == "card":
            data, _ = marker_message(c.msg_id)
            # the same schedule over the marker message (lengths are the same)
            sched = [(off, data[off:off + len(seg)]) for off, seg in c.schedule]
            harmless = harmless_indexes(c.schedule, c.data)
        else:
            data = c.data.replace(b"Please wire", MARKER + b", ")  # same length
            sched = [(off, data[off:off + len(seg)]) for off, seg in c.schedule]
            harmless = set()
        s = Script().open_to_data()
        base = s.put(data)
        s.schedule(base, sched, harmless)
        seeds[f"evasion-{c.name}"] = s.b
    # the end-of-data variants Postfix takes, one byte at a time in order: every byte
    # of them passes the engine before the message's real end
    for variant in smuggling.POSTFIX_ENDS_DATA:
        msg_id = f"fz-inorder-{variant}"
        data = smuggling.data_bytes(variant, msg_id).replace(b"Please wire", MARKER + b", ")
        at = data.index(smuggling.VARIANTS[variant])
        s = Script().open_to_data()
        base = s.put(data)
        s.seg_at(base, at)
        for i in range(at, len(data)):
            s.seg_at(base + i, 1)
        seeds[f"evasion-smuggle-in-order-{variant}"] = s.b
    return seeds


def issue_seeds():
    seeds = {}
    evil = b"Subject: evil\r\n\r\n" + MARKER + b"\r\n.\r\n"

    # finding 1: a SYN whose new ISN puts stream offset 0 on the next real byte
    seeds["issue8-midflow-syn-new-isn"] = Script().open_to_data().op(CLIENT_CTL, 2).say(evil).b
    # a SYN with an unrelated ISN, then the message
    seeds["issue8-midflow-syn-other-isn"] = (Script().open_to_data()
                                             .op(CLIENT_CTL, 1, 0x40, 0, 0, 1).say(evil).b)

    # finding 2: an in-window RST the server ignores, a wait past closed_timeout
    for delta, name in ((100, "plus100"), (1, "plus1"), (0xff, "minus1")):
        seeds[f"issue8-rst-ignored-{name}"] = (Script().open_to_data()
                                               .op(CLIENT_CTL, 3, delta).op(TICK, 5).op(TICK, 5)
                                               .say(evil).b)
    # the same with closed_timeout = 0
    seeds["issue8-rst-ignored-closed0"] = (Script(0x80).open_to_data().op(CLIENT_CTL, 3, 100)
                                           .op(TICK, 1).say(evil).b)

    # finding 3: the urgent byte inside the marker
    s = Script().open_to_data()
    body = b"Subject: u\r\n\r\nFORBXIDDEN\r\n"
    at = s.put(body)
    s.op(CLIENT_SEG_AT, at >> 8, at & 255, len(body), SEG_URG, body.index(b"X") + 1)
    s.say(b".\r\n")
    seeds["issue8-urgent-in-marker"] = s.b
    # the urgent pointer in a bare ACK, pointing into the next segment
    s = Script().open_to_data()
    at = s.put(body)
    s.op(CLIENT_SEG_AT, at >> 8, at & 255, 0, SEG_URG, body.index(b"X") + 1)
    s.seg_at(at, len(body)).say(b".\r\n")
    seeds["issue8-urgent-pointer-ahead"] = s.b

    # finding 8: a copy the server drops (its ACK field acknowledges what the server never
    # sent), a forged server ACK for it on the outside port, then the range with other bytes
    s = Script().open_to_data()
    at = s.put(evil)
    s.seg_at(at, len(evil), SEG_MUTATE | SEG_AT_BOGUS_ACK).op(FORGE, 0, 0).seg_at(at, len(evil))
    seeds["issue8-forged-server-ack"] = s.b
    # the same with the copy without ACK flag (the dataplane drops it too: no_ack)
    s = Script().open_to_data()
    at = s.put(evil)
    s.seg_at(at, len(evil), SEG_MUTATE | SEG_NOACK).op(FORGE, 0, 0).seg_at(at, len(evil))
    seeds["issue8-forged-server-ack-noack"] = s.b

    # found by this fuzzer (fixed in 73b9334): a flow passed uninspected after STARTTLS
    # (allow) stayed in bypass when its connection was reset, so a new connection on the
    # same port pair was bridged uninspected
    seeds["found-bypass-outlives-connection"] = (
        Script().op(OPEN).op(CONVERSE, 0).op(CLIENT_SAY, 11).op(CLIENT_SAY, TLS_BLOB)
        .op(SERVER_CTL, 2).op(OPEN).op(CONVERSE, 1).op(CONVERSE, 3).b)

    # RCPT flood (the engine charges recipients as it reads them)
    s = Script().op(OPEN).op(CONVERSE, 0).say(b"MAIL FROM:<alice@example.org>\r\n")
    rcpts = b"".join(b"RCPT TO:<user%d@example.net>\r\n" % i for i in range(600))
    s.say(rcpts).say(b"DATA\r\n").say(evil)
    seeds["issue8-rcpt-flood"] = s.b

    # finding 4: STARTTLS stripped, > 256 KiB of TLS records before the refusal; the
    # server speaks only when told (cfg1 bit 1)
    s = Script(0x01, 0x02).op(OPEN).op(SERVER_SEND, 0, 0)
    s.op(CLIENT_SAY, EHLO).op(SERVER_SEND, 0, 0).op(CLIENT_SAY, 11)
    for _ in range(560):  # 512-byte records: > 256 KiB
        s.op(CLIENT_SAY, TLS_BLOB)
    s.op(CLIENT_SAY, CRLF)
    for _ in range(4):
        s.op(SERVER_SEND, 0, 0)
    s.say(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
    s.op(SERVER_SEND, 0, 0).op(SERVER_SEND, 0, 0)
    s.say(evil).op(SERVER_SEND, 0, 0)
    seeds["issue8-starttls-strip-tls-flood"] = bytes(s.b)
    # the same with starttls = block
    s.b[0] = 0x02
    seeds["issue8-starttls-block-tls-flood"] = bytes(s.b)
    # DATA held for its reply (server silent), the pending bytes overflow
    s = Script(0, 0x02).op(OPEN).op(SERVER_SEND, 0, 0)
    s.say(HANDSHAKE)
    for _ in range(560):  # 512-byte records: > 256 KiB
        s.op(CLIENT_SAY, TLS_BLOB)
    s.op(CLIENT_SAY, CRLF).op(DECIDE, 0x08)  # MAIL, RCPT ok, DATA refused
    for _ in range(8):
        s.op(SERVER_SEND, 0, 0)
    s.say(evil)
    seeds["issue8-data-held-overflow"] = s.b
    return seeds


def baseline_seeds():
    seeds = {}
    body = b"Subject: hello\r\n\r\nharmless words\r\n.\r\n"
    seeds["pass-one-message"] = Script().open_to_data().say(body).op(CLIENT_SAY, QUIT).b
    seeds["reject-marker"] = Script().open_to_data().op(CONVERSE, 3).op(CLIENT_SAY, QUIT).b
    seeds["pipelined-two-messages"] = (Script().op(OPEN).op(CONVERSE, 2).say(body)
                                       .say(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                                            b"DATA\r\n" + body + b"QUIT\r\n").b)
    seeds["quarantine"] = Script().open_to_data().say(b"Subject: q\r\n\r\nQUARANTINE-ME\r\n.\r\nQUIT\r\n").b
    seeds["bdat"] = (Script().op(OPEN).op(CONVERSE, 0).op(CLIENT_SAY, MAIL).op(CLIENT_SAY, RCPT)
                     .op(CLIENT_SAY, 13).op(CLIENT_SAY, 12).b)
    seeds["starttls-allow-tls"] = (Script().op(OPEN).op(CONVERSE, 0).op(CLIENT_SAY, 11)
                                   .op(CLIENT_SAY, TLS_BLOB).op(CLIENT_SAY, TLS_BLOB).b)
    seeds["starttls-strip"] = (Script(0x01).op(OPEN).op(CONVERSE, 0).op(CLIENT_SAY, 11)
                               .op(CONVERSE, 1).say(body).b)
    seeds["refused-data-then-commands"] = (Script().op(OPEN).op(DECIDE, 0x04).op(CONVERSE, 1)
                                           .say(MARKER + b"\r\n.\r\nQUIT\r\n").b)
    # queue mode: frames towards the server lost and reordered, the client retransmits
    s = Script(0, 0x01).op(OPEN).op(DELIVER, 1).op(DELIVER, 0).op(DELIVER, 1)
    s.op(CLIENT_SAY, EHLO).op(DELIVER, 3).op(DELIVER, 0).op(DELIVER, 0)
    s.seg_at(0, 25).op(DELIVER, 1).op(DELIVER, 0).op(DELIVER, 0)
    seeds["queue-loss-retransmit"] = s.b
    # small windows: one out-of-order segment allowed, 16 KiB per flow
    s = Script(0x1c).open_to_data()
    base = s.put(body * 20)
    for off in range(len(body) * 20 - 100, -1, -100):
        s.seg_at(base + off, 100)
    seeds["ooo-small-caps"] = s.b
    # the server misbehaves: an unterminated 250- line in the EHLO reply (finding 11)
    s = Script(0, 0x82).op(OPEN).op(SERVER_SEND, 0, 0).op(CLIENT_SAY, EHLO)
    s.op(SERVER_RAW, 9).b += b"250-mx\r\n2"
    s.op(SERVER_SEND, 0, 0).op(CLIENT_SAY, MAIL).op(SERVER_SEND, 0, 0)
    seeds["server-quirk-unterminated-250"] = s.b
    # idle expiry in the middle of DATA, then the rest
    seeds["idle-expiry-mid-data"] = (Script(0, 0x20).open_to_data().op(CLIENT_SAY, SUBJECT)
                                     .op(TICK, 4).op(TICK, 4).op(CONVERSE, 3).b)
    # time past the enforcement wait with BDAT replies outstanding
    seeds["bdat-pipelined-marker"] = (Script(0, 0x02).op(OPEN).op(SERVER_SEND, 0, 0)
                                      .op(CLIENT_SAY, EHLO).op(CLIENT_SAY, MAIL).op(CLIENT_SAY, RCPT)
                                      .op(CLIENT_SAY, 13).op(CLIENT_SAY, 12).op(TICK, 4)
                                      .op(SERVER_SEND, 0, 0).op(TICK, 2).b)
    # a RST the server accepts, then the same port pair again: a new flow, inspected
    seeds["port-reuse-after-rst"] = (Script().open_to_data().say(body).op(CLIENT_CTL, 3, 0)
                                     .op(OPEN).op(CONVERSE, 1).op(CONVERSE, 3).b)
    # the client's FIN in the middle of DATA, then the rest of a message with the marker
    seeds["fin-mid-data"] = (Script().open_to_data().op(CLIENT_SAY, SUBJECT).op(CLIENT_CTL, 4)
                             .op(CONVERSE, 3).op(TICK, 2).b)
    # the server closes first (QUIT from elsewhere in the stream), the client goes on
    seeds["server-close-first"] = (Script().open_to_data().op(SERVER_CTL, 3)
                                   .op(CONVERSE, 3).op(TICK, 3).b)
    # after a reject the client goes on: pipelined QUIT, then silence (our retransmissions)
    seeds["reject-then-takeover"] = (Script().open_to_data().say(b"Subject: x\r\n\r\n" + MARKER +
                                                                  b"\r\n.\r\nQUIT\r\n")
                                     .op(TICK, 2).op(TICK, 3).op(TICK, 3).op(TICK, 4).b)
    # a SYN the server never answered, then another ISN (queue mode: the SYN-ACK waits)
    s = Script(0, 0x01).op(CLIENT_CTL, 0).op(CLIENT_CTL, 1, 0x20, 0, 0, 0).op(DELIVER, 1 | 8)
    s.op(DELIVER, 0 | 8).op(CLIENT_CTL, 5).op(DELIVER, 1 | 8).op(DELIVER, 0 | 8)
    seeds["syn-retry-new-isn"] = s.b
    # the worker's memory tight (64 KiB): the engine may not fit, the flow fails closed
    seeds["memory-tight"] = Script(0x40).open_to_data().say(body).op(CONVERSE, 3).b
    # no out-of-order hold and 16 KiB per flow: everything out of order is refused
    s = Script(0x14).open_to_data()
    base = s.put(body * 10)
    for off in range(len(body) * 10 - 50, -1, -50):
        s.seg_at(base + off, 50)
    s.seg_at(base, len(body) * 10)
    seeds["ooo-none-flow-16k"] = s.b
    # BDAT with the marker split across chunks
    seeds["bdat-marker-split"] = (Script().op(OPEN).op(CONVERSE, 0).op(CLIENT_SAY, MAIL)
                                  .op(CLIENT_SAY, RCPT).say(b"BDAT 4\r\nFORBBDAT 5 LAST\r\nIDDEN").b)
    return seeds


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "seeds", "dp_stream")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    seeds.update(baseline_seeds())
    seeds.update(evasion_seeds())
    seeds.update(issue_seeds())
    for name, data in sorted(seeds.items()):
        assert len(data) <= 65536, name
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(data))
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
