"""The evasion cases: one SMTP transaction each, whose DATA bytes are sent as crafted TCP
segments (the same cases drive the live test and the captures).

Each case's DATA bytes hold forbidden content — a payment card number (rule
dlp.credit-card) or an SMTP smuggling attempt (rule smtp.smuggling) — and the schedule
says which segments go out, in which order, with which bytes. Where two segments cover
the same sequence numbers with different bytes, one copy is harmless (the card number's
digits replaced by X) so a reassembler that keeps the wrong copy lets the card through.

`linux_stores_forbidden` says what the lab's server (Linux TCP, Postfix 3.7) ends up
with when nothing but a plain bridge is in the path; the control test checks it, so the
crafting is known to work. Through sluice-dp, no case may get forbidden content stored.
"""
import os
import sys
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab", "peers"))
import smuggling  # noqa: E402

CARD = b"4111 1111 1111 1111"   # Visa's documented test number (Luhn-valid)
HARMLESS = b"XXXX XXXX XXXX XXXX"  # same length, no card


@dataclass
class Case:
    name: str
    msg_id: str
    data: bytes                 # everything sent after 354, ending with CRLF.CRLF
    schedule: list              # (offset into data, bytes) in sending order
    forbidden: str              # "card" or "smuggled"
    linux_stores_forbidden: bool
    note: str = ""
    extra: dict = field(default_factory=dict)
    conflicting: bool = False   # two copies of some bytes differ (raises tcp.overlap)


def card_message(msg_id):
    head = (f"From: Alice Sender <alice@example.org>\r\n"
            f"To: Bob Receiver <bob@example.net>\r\n"
            f"Subject: Order {msg_id}\r\n"
            f"Message-ID: <{msg_id}@lab.example.org>\r\n"
            f"\r\n"
            f"Hello,\r\n\r\nplease charge my card ").encode()
    tail = b", expiry 12/29, for the order.\r\n\r\nThanks, Alice\r\n.\r\n"
    return head + CARD + tail, len(head)


def chunks(data, size, start=0, end=None):
    end = len(data) if end is None else end
    return [(o, data[o:min(o + size, end)]) for o in range(start, end, size)]


def harmless(seg_data, seg_off, card_off):
    """SEG_DATA with the card number's bytes (wherever they fall in it) made harmless."""
    b = bytearray(seg_data)
    for i in range(len(b)):
        j = seg_off + i - card_off
        if 0 <= j < len(CARD) and CARD[j:j + 1].isdigit():
            b[i:i + 1] = b"X"
    return bytes(b)


def build(prefix="ev"):
    cases = []

    def card_case(name, make_schedule, linux, note, conflicting=False):
        msg_id = f"{prefix}-{name}"
        data, card_off = card_message(msg_id)
        cases.append(Case(name, msg_id, data, make_schedule(data, card_off), "card",
                          linux, note, conflicting=conflicting))

    card_case("out-of-order",
              lambda d, c: list(reversed(chunks(d, 24))),
              True, "24-byte segments sent last to first; end-of-data arrives first")
    card_case("one-byte",
              lambda d, c: chunks(d, 1),
              True, "every byte its own segment")

    def overlap_harmless_first(d, c):
        # in order: the card's segment goes out harmless, then a longer segment starting
        # 5 bytes earlier repeats it with the real digits (Linux keeps the first bytes)
        s, e = c - 8, c + len(CARD) + 8
        return ([(0, d[:s]), (s, harmless(d[s:e], s, c)), (s - 5, d[s - 5:e + 6])] +
                [(e + 6, d[e + 6:])])
    card_case("overlap-harmless-first", overlap_harmless_first, False,
              "harmless copy in order, then an overlapping copy with the card", True)

    def overlap_ooo_last_wins(d, c):
        # a hole before the card; out of order, the card's range arrives harmless, then
        # again with the card, starting at the same byte and longer (Linux replaces the
        # queued segment: last wins); then the rest, then the hole is filled
        h, s, e = c - 30, c - 4, c + len(CARD) + 4
        return [(0, d[:h]), (s, harmless(d[s:e], s, c)), (s, d[s:e + 10]),
                (e + 10, d[e + 10:]), (h, d[h:s])]
    card_case("overlap-ooo-last-wins", overlap_ooo_last_wins, True,
              "out of order: harmless copy, then a longer copy with the card from the same byte",
              True)

    def retransmit_other(d, c):
        s, e = c - 6, c + len(CARD) + 6
        return [(0, d[:s]), (s, harmless(d[s:e], s, c)), (s, d[s:e]), (e, d[e:])]
    card_case("retransmit-harmless-first", retransmit_other, False,
              "a segment, then its retransmission with the card instead", True)

    def retransmit_card_first(d, c):
        s, e = c - 6, c + len(CARD) + 6
        return [(0, d[:s]), (s, d[s:e]), (s, harmless(d[s:e], s, c)), (e, d[e:])]
    card_case("retransmit-card-first", retransmit_card_first, True,
              "a segment with the card, then its retransmission made harmless", True)

    for variant, eod in smuggling.VARIANTS.items():
        msg_id = f"{prefix}-smuggle-{variant}"
        data = smuggling.data_bytes(variant, msg_id)
        at = data.index(eod)
        # the end-of-data variant split byte by byte, everything sent last to first
        sched = [(0, data[:at])] + [(at + i, eod[i:i + 1]) for i in range(len(eod))] + \
            [(at + len(eod), data[at + len(eod):])]
        cases.append(Case(f"smuggle-{variant}", msg_id, data, list(reversed(sched)),
                          "smuggled", variant in smuggling.POSTFIX_ENDS_DATA,
                          f"smuggling with {eod!r}, split byte by byte, out of order",
                          {"inner_id": f"{msg_id}-inner"}))
    return cases


def check_schedule(case):
    """Every byte of the DATA is covered by the schedule (overlaps allowed)."""
    covered = bytearray(len(case.data))
    for off, seg in case.schedule:
        assert 0 <= off and off + len(seg) <= len(case.data), case.name
        covered[off:off + len(seg)] = b"\x01" * len(seg)
    assert all(covered), f"{case.name}: schedule leaves a hole"


if __name__ == "__main__":
    for c in build():
        check_schedule(c)
        print(f"{c.name:28} {len(c.schedule):4} segments  {c.note}")
