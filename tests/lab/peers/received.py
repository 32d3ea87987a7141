#!/usr/bin/python3
"""What the lab's server received: received.py find|compare|grep ...

  find DIR ID            print the files in DIR (a maildir's new/ or an smtp-sink dump
                         directory) holding the message with Message-ID <ID@...>
  compare ORIGINAL FILE [HOPS]
                         exit 0 when FILE (as stored by the server) holds exactly the
                         message ORIGINAL (as the client sent it); prints where they differ.
                         HOPS: Received headers to remove (default 1; 2 through a relay)
  grep DIR TEXT          print the files in DIR whose message contains TEXT (bytes)
  summary FILE           one line: the stored message's decoded Subject, size, Message-ID
  sessions ORIGINAL DIR N
                         exit 0 when DIR holds exactly N messages, each ORIGINAL with an
                         "X-Lab-Seq: i" header line first, i = 0..N-1 each exactly once
                         (what smtpclient.py concurrent sends)

Both servers store lines with LF endings and put their own header lines first: Postfix
(Return-Path, X-Original-To, Delivered-To, then its Received header), smtp-sink (X-Client-Addr ...
X-Rcpt-Args, then its Received header; it also appends one empty line). The comparison
removes exactly those, and compares the rest with the original's CRLF turned into LF:
every other byte must be identical.
"""
import os
import re
import sys

SERVER_FIELDS = (b"return-path", b"x-original-to", b"delivered-to", b"x-client-addr", b"x-client-proto",
                 b"x-helo-args", b"x-mail-args", b"x-rcpt-args")


def stored_message(data, hops=1):
    """The client's message inside a stored file, or None when the server's own header
    block is not where it should be. HOPS is the number of Received headers the mail
    collected on its way (2 when it came through the lab's Postfix relay)."""
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].split(b":", 1)[0].lower() in SERVER_FIELDS:
        i += 1
    for _ in range(hops):
        if i >= len(lines) or not lines[i].lower().startswith(b"received:"):
            return None
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    body = b"\n".join(lines[i:])
    if b"x-client-addr" in data[:200].lower() and body.endswith(b"\n\n"):
        body = body[:-1]  # smtp-sink's closing empty line
    return body


def files(d):
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            yield p


def find(d, msg_id):
    pat = re.compile(rb"^Message-ID: <" + re.escape(msg_id.encode()) + rb"@", re.I | re.M)
    for p in files(d):
        with open(p, "rb") as f:
            header = f.read().split(b"\n\n", 1)[0]  # not a message quoted in a body
        if pat.search(header):
            print(p)


def grep(d, text):
    for p in files(d):
        with open(p, "rb") as f:
            m = stored_message(f.read())
        if m is not None and text.encode() in m:
            print(p)


def compare(original, stored, hops):
    with open(original, "rb") as f:
        want = f.read().replace(b"\r\n", b"\n")
    with open(stored, "rb") as f:
        got = stored_message(f.read(), hops)
    if got is None:
        print(f"{stored}: no server header block found", file=sys.stderr)
        return 1
    if got == want:
        return 0
    n = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
    print(f"{stored} differs from {original} at byte {n} (sizes {len(got)} vs {len(want)}):\n"
          f"  sent:     {want[max(0, n - 40):n + 40]!r}\n"
          f"  received: {got[max(0, n - 40):n + 40]!r}", file=sys.stderr)
    return 1


def sessions(original, d, n):
    with open(original, "rb") as f:
        want = f.read().replace(b"\r\n", b"\n")
    seen = {}
    bad = 0
    for p in files(d):
        with open(p, "rb") as f:
            got = stored_message(f.read())
        m = re.match(rb"X-Lab-Seq: (\d+)\n", got or b"")
        if not m or got[m.end():] != want:
            print(f"{p}: not the message sent", file=sys.stderr)
            bad += 1
            continue
        seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
    missing = [i for i in range(n) if i not in seen]
    twice = [i for i, c in seen.items() if c > 1 or i >= n]
    if missing or twice or bad:
        print(f"sessions: {len(seen)} distinct of {n}; missing {missing[:20]}, "
              f"duplicated or unknown {twice[:20]}, altered {bad}", file=sys.stderr)
        return 1
    return 0


def summary(path):
    from email import message_from_bytes, policy
    with open(path, "rb") as f:
        data = f.read()
    m = message_from_bytes(data, policy=policy.default)
    print(f"\"{m.get('Subject', '')}\" ({len(data)} bytes, {m.get('Message-ID', '')})")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        return summary(sys.argv[2])
    if len(sys.argv) >= 2 and sys.argv[1] == "sessions" and len(sys.argv) == 5:
        sys.exit(sessions(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in ("find", "compare", "grep"):
        sys.exit(__doc__)
    cmd, a, b = sys.argv[1:4]
    if cmd == "find":
        find(a, b)
    elif cmd == "grep":
        grep(a, b)
    else:
        sys.exit(compare(a, b, int(sys.argv[4]) if len(sys.argv) == 5 else 1))


if __name__ == "__main__":
    main()
