#!/usr/bin/python3
"""Evasion tests' driver: evasion.py live|check|pcaps ...

  live --iface IF --src IP --dst IP --src-mac MAC --dst-mac MAC --results FILE [CASE...]
        run each case (cases.py) as a crafted TCP session from IF (inside the client
        namespace) against the server; writes what the client saw to FILE (JSON lines)
  check --store DIR --results FILE --expect protected|control
        compare the server's store (maildir new/) with the cases: 'protected' (sluice-dp
        in the path) — no forbidden content stored, and every end-of-data answered;
        'control' (a plain bridge) — the server stores exactly what Linux and Postfix
        make of each case (cases.py, linux_stores_forbidden)
  pcaps DIR [CASE...]
        write each case as a capture DIR/<case>.pcap: both directions, the client's
        crafted segments and the replies of a permissive server that accepts the message
  offline-check DIR [CASE...]
        judge `sluice-dp --offline DIR/<case>.pcap --dump-messages DIR/<case>` for each
        case: no message the policy lets pass (verdict pass) holds the forbidden
        content; where the bytes sluice-dp reassembles (first data wins) hold it, the
        verdict is not pass; every smuggling variant the engine flags is rejected by
        smtp.smuggling
  overlap-check DIR [CASE...]
        the same captures judged with a policy whose one rule (lab.tcp-overlap) rejects
        on the signal tcp.overlap: exactly the cases with conflicting copies of some
        bytes raise it
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lab", "peers"))

import cases as evcases  # noqa: E402
import received  # noqa: E402
import session  # noqa: E402


def selected(names, prefix="ev"):
    all_cases = evcases.build(prefix)
    if not names:
        return all_cases
    by = {c.name: c for c in all_cases}
    missing = [n for n in names if n not in by]
    if missing:
        sys.exit(f"unknown case(s): {' '.join(missing)}")
    return [by[n] for n in names]


# -- live ----------------------------------------------------------------------------
def run_case(args, case, sport=None):
    from craft import CraftedFlow
    flow = CraftedFlow(args.iface, args.src, args.dst, args.src_mac, args.dst_mac, sport=sport)
    result = session.new_result(case.name, flow)
    result["msg_id"] = case.msg_id

    def play(flow, result):
        if not session.begin(flow, result):
            return
        result["acked_all"] = session.send_schedule(flow, case.schedule, case.data)
        session.end(flow, result)
    return session.run(flow, result, play)


def cmd_live(args):
    with open(args.results, "w") as out:
        for case in selected(args.cases, args.prefix):
            r = run_case(args, case)
            out.write(json.dumps(r) + "\n")
            ends = "; ".join(f"{c} {t}" for c, t in r["end_replies"]) or "no reply"
            print(f"{case.name:28} end-of-data: {ends}"
                  f"{'  ERROR ' + r['error'] if 'error' in r else ''}", flush=True)


# -- check ---------------------------------------------------------------------------
def stored_forbidden(store, case):
    """Files in STORE holding the case's forbidden content as delivered mail."""
    hits = []
    if case.forbidden == "card":
        for p in received.files(store):
            with open(p, "rb") as f:
                data = f.read()
            header = data.split(b"\n\n", 1)[0]
            if f"<{case.msg_id}@".encode() in header and evcases.CARD in data:
                hits.append(p)
    else:
        inner = case.extra["inner_id"]
        for p in received.files(store):
            with open(p, "rb") as f:
                header = f.read().split(b"\n\n", 1)[0]
            if f"<{inner}@".encode() in header:
                hits.append(p)
    return hits


def protected_problem(store, case, r, hits):
    """Why the outcome of CASE through sluice-dp is wrong, or "" when it is right: nothing
    forbidden stored, an answer to every end-of-data, and the expected outcome — a
    message whose first copy of every byte holds the card is stopped by the policy, one
    whose first copies are harmless is delivered (harmless), a flagged smuggling variant
    is rejected."""
    if hits:
        return "forbidden content stored: " + " ".join(hits)
    if not r["end_replies"]:
        return "the client got no answer to its end-of-data"
    first = r["end_replies"][0][0]
    delivered = bool(received_ids(store, case.msg_id))
    if case.forbidden == "card":
        if case.name in FIRST_COPY_HAS_CARD and delivered:
            return "the message was delivered (without the card?) instead of stopped"
        if case.name not in FIRST_COPY_HAS_CARD and not delivered:
            return "the harmless message was not delivered"
    elif case.name[len("smuggle-"):] in evcases.smuggling.RAISES_SMUGGLING:
        if first != 554:
            return f"not rejected (first answer {first})"
    elif not delivered:
        return "the message (not smuggling for the engine) was not delivered"
    return ""


def received_ids(store, msg_id):
    out = []
    for p in received.files(store):
        with open(p, "rb") as f:
            if f"<{msg_id}@".encode() in f.read().split(b"\n\n", 1)[0]:
                out.append(p)
    return out


def cmd_check(args):
    results = {}
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            results[r["case"]] = r
    failures = 0
    for case in selected(args.cases, args.prefix):
        r = results.get(case.name)
        if r is None:
            print(f"FAIL {case.name}: not run")
            failures += 1
            continue
        if "error" in r:
            print(f"FAIL {case.name}: session failed before the attack: {r['error']}")
            failures += 1
            continue
        hits = stored_forbidden(args.store, case)
        ends = "; ".join(f"{c} {t}" for c, t in r["end_replies"]) or "no reply"
        if args.expect == "protected":
            why = protected_problem(args.store, case, r, hits)
            ok = not why
        else:
            ok = bool(hits) == case.linux_stores_forbidden
            why = "" if ok else (f"expected Linux/Postfix to {'store' if case.linux_stores_forbidden else 'not store'} "
                                 f"the forbidden content, found {hits or 'nothing'}")
        print(f"{'ok  ' if ok else 'FAIL'} {case.name:28} client saw: {ends}"
              f"{'  -- ' + why if why else ''}")
        failures += not ok
    return 1 if failures else 0


# -- offline-check -------------------------------------------------------------------
# Cases whose DATA, reassembled keeping the first copy of every byte, holds the card.
FIRST_COPY_HAS_CARD = {"out-of-order", "one-byte", "retransmit-card-first"}


def cmd_offline_check(args):
    failures = 0
    for case in selected(args.cases):
        d = os.path.join(args.dir, case.name)
        try:
            lines = read_verdicts(d)
        except (OSError, ValueError) as e:
            print(f"FAIL {case.name}: no verdicts: {e}")
            failures += 1
            continue
        problems = []
        for v in lines:
            verdict = v["verdict"]["verdict"]
            rules = [r["id"] for r in v["verdict"].get("rules", [])]
            eml = b""
            if v.get("file"):
                with open(os.path.join(d, v["file"]), "rb") as f:
                    eml = f.read()
            header = eml.split(b"\r\n\r\n", 1)[0]
            bad = (evcases.CARD in eml if case.forbidden == "card" else
                   f"<{case.extra['inner_id']}@".encode() in header)
            if bad and verdict == "pass":
                problems.append(f"{v.get('file')} passes with the forbidden content")
            v["_rules"] = rules
        verdicts = [(v["verdict"]["verdict"], v["_rules"]) for v in lines]
        if case.forbidden == "card" and case.name in FIRST_COPY_HAS_CARD:
            if not any(vd != "pass" and "dlp.credit-card" in r for vd, r in verdicts):
                problems.append("the card number went unnoticed")
        if case.forbidden == "smuggled" and case.name[len("smuggle-"):] in evcases.smuggling.RAISES_SMUGGLING:
            if not any(vd == "reject" and "smtp.smuggling" in r for vd, r in verdicts):
                problems.append("not rejected by smtp.smuggling")
        if not lines:
            problems.append("no message found in the capture")
        print(f"{'FAIL' if problems else 'ok  '} {case.name:28} verdicts: "
              f"{'; '.join(f'{vd} {r}' for vd, r in verdicts) or 'none'}"
              f"{'  -- ' + '; '.join(problems) if problems else ''}")
        failures += bool(problems)
    return 1 if failures else 0


def read_verdicts(d):
    with open(os.path.join(d, "verdicts.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_overlap_check(args):
    failures = 0
    for case in selected(args.cases):
        try:
            lines = read_verdicts(os.path.join(args.dir, case.name))
        except (OSError, ValueError) as e:
            print(f"FAIL {case.name}: no verdicts: {e}")
            failures += 1
            continue
        fired = any("lab.tcp-overlap" in [r["id"] for r in v["verdict"]["rules"]] for v in lines)
        ok = bool(lines) and fired == case.conflicting
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {case.name:28} tcp.overlap "
              f"{'raised' if fired else 'not raised'}"
              f"{'' if ok else ' -- expected ' + ('raised' if case.conflicting else 'not raised')}")
    return 1 if failures else 0


# -- pcaps ---------------------------------------------------------------------------
class PcapSession:
    """Both directions of one scripted session, as packets with increasing times."""
    def __init__(self, client, server, cmac, smac):
        from scapy.all import IP, TCP, Ether, IPv6
        self.IP, self.TCP, self.Ether, self.IPv6 = IP, TCP, Ether, IPv6
        self.c, self.s, self.cmac, self.smac = client, server, cmac, smac
        self.cport, self.sport = random.Random(client).randint(20000, 60999), 25
        self.cseq, self.sseq = 1000000, 5000000
        self.t = 1738576800.0
        self.pkts = []

    def _pkt(self, from_client, flags, seq, ack, data=b""):
        from scapy.all import Raw
        src, dst = (self.c, self.s) if from_client else (self.s, self.c)
        smac, dmac = (self.cmac, self.smac) if from_client else (self.smac, self.cmac)
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        ip = self.IPv6(src=src, dst=dst) if ":" in src else self.IP(src=src, dst=dst, flags="DF")
        p = self.Ether(src=smac, dst=dmac) / ip / self.TCP(
            sport=sp, dport=dp, flags=flags, seq=seq % 2**32, ack=ack % 2**32, window=65535)
        if data:
            p = p / Raw(data)
        self.t += 0.0005
        p.time = self.t
        self.pkts.append(p)

    def handshake(self):
        self._pkt(True, "S", self.cseq, 0)
        self._pkt(False, "SA", self.sseq, self.cseq + 1)
        self.cseq += 1
        self.sseq += 1
        self._pkt(True, "A", self.cseq, self.sseq)

    def server_says(self, text):
        data = text.encode()
        self._pkt(False, "PA", self.sseq, self.cseq, data)
        self.sseq += len(data)
        self._pkt(True, "A", self.cseq, self.sseq)

    def client_says(self, text):
        data = text.encode() if isinstance(text, str) else text
        self._pkt(True, "PA", self.cseq, self.sseq, data)
        self.cseq += len(data)
        self._pkt(False, "A", self.sseq, self.cseq)

    def client_segments(self, schedule, total):
        base = self.cseq
        for off, seg in schedule:
            self._pkt(True, "PA", base + off, self.sseq, seg)
        self.cseq = base + total
        self._pkt(False, "A", self.sseq, self.cseq)

    def close(self):
        self._pkt(False, "FA", self.sseq, self.cseq)
        self.sseq += 1
        self._pkt(True, "FA", self.cseq, self.sseq)
        self.cseq += 1
        self._pkt(False, "A", self.sseq, self.cseq)


def case_pcap(case, path):
    from scapy.all import wrpcap
    s = PcapSession("192.0.2.3", "192.0.2.2", "02:00:5e:00:53:03", "02:00:5e:00:53:02")
    s.handshake()
    s.server_says("220 mx.example.net ESMTP\r\n")
    s.client_says("EHLO crafted.example.org\r\n")
    s.server_says("250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
    s.client_says("MAIL FROM:<alice@example.org>\r\n")
    s.server_says("250 2.1.0 Ok\r\n")
    s.client_says("RCPT TO:<bob@example.net>\r\n")
    s.server_says("250 2.1.5 Ok\r\n")
    s.client_says("DATA\r\n")
    s.server_says("354 End data with <CR><LF>.<CR><LF>\r\n")
    s.client_segments(case.schedule, len(case.data))
    if case.forbidden == "smuggled" and case.linux_stores_forbidden:
        # what the lab's Postfix answers: two messages accepted
        s.server_says("250 2.0.0 Ok: queued as 1A2B3C\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                      "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4D5E6F\r\n")
    else:
        s.server_says("250 2.0.0 Ok: queued as 1A2B3C\r\n")
    s.client_says("QUIT\r\n")
    s.server_says("221 2.0.0 Bye\r\n")
    s.close()
    wrpcap(path, s.pkts)


def cmd_pcaps(args):
    os.makedirs(args.dir, exist_ok=True)
    for case in selected(args.cases):
        case_pcap(case, os.path.join(args.dir, f"{case.name}.pcap"))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    live = sub.add_parser("live")
    session.add_flow_options(live)
    live.add_argument("--prefix", default="ev", help="Message-ID prefix (a second run: ev6)")
    check = sub.add_parser("check")
    check.add_argument("--store", required=True)
    check.add_argument("--results", required=True)
    check.add_argument("--expect", choices=["protected", "control"], required=True)
    check.add_argument("--prefix", default="ev")
    check.add_argument("cases", nargs="*")
    pc = sub.add_parser("pcaps")
    pc.add_argument("dir")
    pc.add_argument("cases", nargs="*")
    for name in ("offline-check", "overlap-check"):
        oc = sub.add_parser(name)
        oc.add_argument("dir")
        oc.add_argument("cases", nargs="*")
    args = p.parse_args()
    sys.exit({"live": cmd_live, "check": cmd_check, "pcaps": cmd_pcaps,
              "offline-check": cmd_offline_check,
              "overlap-check": cmd_overlap_check}[args.cmd](args))


if __name__ == "__main__":
    main()
