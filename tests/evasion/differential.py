#!/usr/bin/python3
"""The live differential evasion test's driver: differential.py play|judge|list ...

  play --iface IF --src IP --dst IP --src-mac MAC --dst-mac MAC --results FILE
       [--prefix P] [--closed-wait S] [CASE...]
        run each case as a crafted session from IF (inside the lab's client namespace):
        the attacks of issue 8 (attacks.py) and the classic evasions (cases.py); what
        the client saw goes to FILE (JSON lines)
  judge --recorder DIR --dump DIR --results FILE [--results FILE...]
        hold what the server's application read (tests/lab/peers/recorder.py, DIR) against
        what sluice-dp scanned (its --dump-messages DIR) and print one row per case:
        (a) every message the server accepted is, byte for byte, a message sluice-dp
            dumped for that client with verdict pass or alert;
        (b) no accepted message holds a forbidden marker: the card number, the EICAR
            file (also inside MIME parts, decoded) or a smuggled message's Message-ID;
        (c) the bytes the server's application read on the connection are a prefix of
            the client bytes sluice-dp's engine consumed on that flow (in order; the
            rewrites allowed are the documented STARTTLS -> XXXXXXXX and NUL -> '?' in
            command lines, which (a) holds messages to byte for byte); a connection that
            was read from but never inspected fails;
        (d) the client got an SMTP answer to its end of data, or a reset.
        Connections of no case (other clients of the lab) are judged by (a)-(c) too.
  list  the cases
"""
import argparse
import email
import json
import os
import random
import re
import sys
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import attacks  # noqa: E402
import cases as classic  # noqa: E402
import session  # noqa: E402

CARD_MARKERS = (classic.CARD, classic.CARD.replace(b" ", b""))


def all_cases(prefix):
    """name -> (finding, note, play or classic Case)"""
    out = {a.name: (a.finding, a.note, a) for a in attacks.ATTACKS}
    for c in classic.build(prefix):
        out[c.name] = ("classic", c.note, c)
    return out


# -- play ----------------------------------------------------------------------------
def cmd_play(args):
    from craft import CraftedFlow
    import evasion
    cases = all_cases(args.prefix)
    names = args.cases or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        sys.exit(f"unknown case(s): {' '.join(unknown)}")
    opts = SimpleNamespace(closed_wait=args.closed_wait)
    # one client port per case: the judge finds a case's connection and flow by it
    first_port = random.randint(20000, 60000 - len(names))
    with open(args.results, "w") as out:
        for i, name in enumerate(names):
            finding, note, case = cases[name]
            if isinstance(case, attacks.Attack):
                flow = CraftedFlow(args.iface, args.src, args.dst, args.src_mac, args.dst_mac,
                                   sport=first_port + i)
                r = session.new_result(name, flow)
                r["msg_id"] = f"{args.prefix}-{name}"
                session.run(flow, r, lambda f, res: case.play(f, res, r["msg_id"], opts))
            else:
                r = evasion.run_case(args, case, sport=first_port + i)
            r["finding"] = finding
            out.write(json.dumps(r) + "\n")
            out.flush()
            ends = "; ".join(f"{c} {t[:50]}" for c, t in r["end_replies"]) or "no reply"
            print(f"{name:31} {args.src}:{r['client'][1]:<5} end of data: {ends}"
                  f"{'  ERROR ' + r['error'] if 'error' in r else ''}", flush=True)
    return 0


# -- judge ---------------------------------------------------------------------------
def dump_key(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def read_dump(d):
    """client "ip:port" -> [(verdict, file path or None, rule ids)] from every
    verdicts.jsonl under D (one per worker)."""
    out = {}
    for root, _, files in os.walk(d):
        if "verdicts.jsonl" not in files:
            continue
        with open(os.path.join(root, "verdicts.jsonl")) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    v = json.loads(line)
                except ValueError as e:
                    sys.exit(f"FAIL: {root}/verdicts.jsonl line {n} is not JSON ({e}): {line[:300]!r}")
                verdict = v["verdict"]["verdict"] if v.get("verdict") else "none"
                rules = [h["id"] for h in (v.get("verdict") or {}).get("rules", [])]
                path = os.path.join(root, v["file"]) if v.get("file") else None
                out.setdefault(v["client"], []).append((verdict, path, rules))
    return out


def flow_stream(d, ip, port):
    """The client bytes the engine consumed on the flow, or None when it has none."""
    for root, dirs, _ in os.walk(d):
        p = os.path.join(root, "flows", f"{ip}_{port}.client")
        if os.path.exists(p):
            with open(p, "rb") as f:
                return f.read()
    return None


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def markers(msg):
    """The forbidden markers in an accepted message (raw, and in its decoded parts)."""
    found = set()
    texts = [msg]
    try:
        for p in email.message_from_bytes(msg).walk():
            if not p.is_multipart():
                texts.append(p.get_payload(decode=True) or b"")
    except Exception as e:  # a message Python cannot parse: judged on its raw bytes
        found.add(f"(unparsed: {e})")
    for t in texts:
        if any(c in t for c in CARD_MARKERS):
            found.add("card")
        if attacks.EICAR in t:
            found.add("EICAR")
    header = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)[0]
    if re.search(rb"(?im)^message-id:\s*<[^>]*-inner@", header):
        found.add("smuggled message")
    return sorted(found)


STARTTLS_LINE = re.compile(rb"(?i)(?:^|\n)STARTTLS\r?\n")


def prefix_problem(read, consumed):
    """Why READ (the server's application) is not a prefix of CONSUMED (the engine),
    or "". The differences allowed (docs/dataplane.md): a STARTTLS command line the
    gateway rewrote to XXXXXXXX (starttls = strip|block), and a NUL it sent on as '?'
    (in command lines; messages are held to byte equality by (a))."""
    if consumed is None:
        return "" if not read else f"the server read {len(read)} bytes of a flow sluice-dp never inspected"
    if len(read) > len(consumed):
        extra = read[len(consumed):len(consumed) + 40]
        diff = first_difference(read[:len(consumed)], consumed)
        if diff < 0:
            return (f"the server read {len(read) - len(consumed)} bytes the engine never consumed, "
                    f"from byte {len(consumed)}: {extra!r}")
    allowed = bytearray(consumed[:len(read)])
    for m in STARTTLS_LINE.finditer(consumed):
        at = m.start() + (1 if m.group().startswith(b"\n") else 0)
        if at + 8 <= len(allowed) and read[at:at + 8] == b"XXXXXXXX":
            allowed[at:at + 8] = b"XXXXXXXX"
    for i in range(len(allowed)):
        if allowed[i] == 0 and read[i] == 0x3F:
            allowed[i] = 0x3F
    diff = first_difference(read, bytes(allowed))
    if diff >= 0:
        return (f"byte {diff} differs: the server read {read[diff:diff + 30]!r}, the engine "
                f"consumed {consumed[diff:diff + 30]!r}")
    return ""


def first_difference(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return -1 if len(a) <= len(b) else n


def judge_connection(conn, rec_dir, dump, dump_dir):
    """(a), (b), (c) for one recorder connection: [(letter, problem or "")]."""
    key = dump_key(conn["peer"], conn["port"])
    dumped = dump.get(key, [])
    passed = [read_bytes(p) for v, p, _ in dumped if p and v in ("pass", "alert")]
    a, b = [], []
    for m in conn["messages"]:
        body = read_bytes(os.path.join(rec_dir, m["file"]))
        if body not in passed:
            a.append(f"{m['file']} ({len(body)} bytes) is no message sluice-dp passed"
                     + describe_nearest(body, dumped))
        bad = markers(body)
        if bad:
            b.append(f"{m['file']} holds {', '.join(bad)}")
    read = read_bytes(os.path.join(rec_dir, conn["client"]))
    c = prefix_problem(read, flow_stream(dump_dir, conn["peer"], conn["port"]))
    return [("a", "; ".join(a)), ("b", "; ".join(b)), ("c", c)]


def describe_nearest(body, dumped):
    if not dumped:
        return " (sluice-dp dumped no message for this client)"
    parts = []
    for v, p, rules in dumped:
        if p is None:
            parts.append(f"{v} {','.join(rules)} (no file)")
            continue
        other = read_bytes(p)
        d = first_difference(body, other)
        parts.append(f"{v} {','.join(rules)} {len(other)} bytes"
                     + (f" differing at byte {d}" if d >= 0 or len(other) != len(body) else ""))
    return " (dumped: " + "; ".join(parts) + ")"


def cmd_judge(args):
    with open(os.path.join(args.recorder, "index.json")) as f:
        conns = json.load(f)["connections"]
    dump = read_dump(args.dump)
    results = []
    for path in args.results:
        with open(path) as f:
            results += [json.loads(line) for line in f if line.strip()]
    claimed, failures = set(), 0
    print(f"{'case':31} {'client':22} {'finding':36} a b c d  problems")
    for r in results:
        ip, port = r["client"]
        mine = [c for c in conns if c["peer"] == ip and c["port"] == port]
        claimed.update(c["id"] for c in mine)
        checks = {"a": [], "b": [], "c": []}
        for c in mine:
            for letter, problem in judge_connection(c, args.recorder, dump, args.dump):
                if problem:
                    checks[letter].append(f"conn {c['id']}: {problem}")
        d = ""
        if not r["end_replies"] and not r.get("reset_by_server"):
            d = "no answer to the end of data and no reset" + (f" ({r['error']})" if "error" in r else "")
        elif "error" in r and not r.get("reset_by_server"):
            d = f"the session failed: {r['error']}"
        if not mine:
            checks["c"].append("the server never saw this connection")
        marks = {k: ("FAIL" if v else "ok") for k, v in checks.items()}
        marks["d"] = "FAIL" if d else "ok"
        problems = [f"({k}) {p}" for k in "abc" for p in checks[k]] + ([f"(d) {d}"] if d else [])
        bad = any(m == "FAIL" for m in marks.values())
        failures += bad
        flags = " ".join("x" if marks[k] == "FAIL" else "." for k in "abcd")
        print(f"{r['case']:31} {dump_key(ip, port):22} {r.get('finding', '')[:36]:36} {flags}  "
              f"{'FAIL ' if bad else 'ok'}{'; '.join(problems)}")
    others = [c for c in conns if c["id"] not in claimed and c["bytes"]]
    for c in others:
        problems = [f"({k}) {p}" for k, p in judge_connection(c, args.recorder, dump, args.dump) if p]
        failures += bool(problems)
        print(f"{'(other connection)':31} {dump_key(c['peer'], c['port']):22} {'':36} "
              f"{'FAIL ' + '; '.join(problems) if problems else 'ok'}")
    print(f"{len(results)} cases, {failures} failing (cases and other connections)")
    return 1 if failures else 0


def cmd_list(args):
    for name, (finding, note, _) in all_cases("ev").items():
        print(f"{name:31} {finding:36} {note}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    play = sub.add_parser("play")
    session.add_flow_options(play)
    play.add_argument("--prefix", default="df", help="Message-ID prefix")
    play.add_argument("--closed-wait", type=float, default=2.0,
                      help="seconds to wait after the ignored RST (> sluice-dp's closed_timeout)")
    judge = sub.add_parser("judge")
    judge.add_argument("--recorder", required=True)
    judge.add_argument("--dump", required=True)
    judge.add_argument("--results", action="append", required=True)
    sub.add_parser("list")
    args = p.parse_args()
    sys.exit({"play": cmd_play, "judge": cmd_judge, "list": cmd_list}[args.cmd](args))


if __name__ == "__main__":
    main()
