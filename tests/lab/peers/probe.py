#!/usr/bin/python3
"""SMTP clients that misbehave the way scanners, harvesters and password guessers do, for
the protection tests (tests/lab/test-protect*.sh). Each connects from --source (an
address of the client host) to --server, does one thing, and prints one JSON object
saying what the server side answered; it never raises on a refused or closed connection
(that is usually the point).

  probe.py harvest  --source A --server S --count N      RCPT to N unknown users
  probe.py banner   --source A --server S [--port P]     the first line the client reads
  probe.py send     --source A --server S --id ID        one small message to bob
  probe.py auth     --source A --server S --port 587 --user U --password P --tries N
  probe.py pregreet --source A --server S                EHLO before reading the greeting
  probe.py http     --source A --server S                GET / HTTP/1.1 on port 25
  probe.py vrfy     --source A --server S --count N      VRFY N names
  probe.py session  --source A --server S --messages N --gap S   one session, N messages
"""
import argparse
import base64
import json
import smtplib
import socket
import sys
import time


def out(**kw):
    print(json.dumps(kw))
    sys.stdout.flush()


def connect(a, port=None):
    return smtplib.SMTP(a.server, port or a.port, source_address=(a.source, 0), timeout=a.timeout)


def raw(a, port=None):
    s = socket.create_connection((a.server, port or a.port), timeout=a.timeout,
                                 source_address=(a.source, 0))
    return s


def read_reply(s):
    """One whole SMTP reply from a raw socket (or what came before the close)."""
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        data += chunk
        complete = data.split(b"\n")[:-1]  # lines with their LF
        if any(len(l.rstrip(b"\r")) == 3 or l[3:4] == b" " for l in complete):
            break  # the last line of a reply
    return data.decode("latin-1")


def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except (socket.timeout, OSError):
        return False


def converse(a, helo, steps):
    """Connect, EHLO, run steps(client) (it returns the final reply worth reporting, or
    None), QUIT; whatever closes the connection is the final word instead."""
    final = None
    try:
        c = connect(a)
        c.ehlo(helo)
        final = steps(c)
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass
    except smtplib.SMTPServerDisconnected as e:
        final = final or f"disconnected: {e}"
    except (smtplib.SMTPException, OSError) as e:
        final = final or f"{type(e).__name__}: {e}"
    return final


def harvest(a):
    n = {"refused": 0, "accepted": 0}

    def guesses(c):
        c.mail("probe@example.org")
        for i in range(a.count):
            code, msg = c.rcpt(f"guess{i}-{int(time.time() * 1000) % 100000}@example.net")
            if code == 550:
                n["refused"] += 1
            elif code // 100 == 2:
                n["accepted"] += 1
            else:
                return f"{code} {msg.decode(errors='replace')}"
        return None

    final = converse(a, "harvester.example.org", guesses)
    out(refused=n["refused"], accepted=n["accepted"], final=final)


def banner(a):
    """The greeting, then QUIT: a server answers 221, a refusal has closed already."""
    try:
        s = raw(a)
        line = read_reply(s)
        try:
            s.sendall(b"QUIT\r\n")
            bye = read_reply(s)
        except OSError:
            bye = ""
        out(banner=line.strip(), closed=not bye.startswith("221"))
        s.close()
    except OSError as e:
        out(banner=None, error=f"{type(e).__name__}: {e}")


def send(a):
    try:
        c = connect(a)
        c.ehlo("client.example.org")
        msg = (f"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: {a.id}\r\n"
               f"Message-ID: <{a.id}@example.org>\r\n\r\nprobe {a.id}\r\n")
        code, text = c.mail("alice@example.org")
        c.rcpt("bob@example.net")
        code, text = c.data(msg.encode())
        c.quit()
        out(code=code, text=text.decode(errors="replace"))
    except smtplib.SMTPResponseException as e:
        out(code=e.smtp_code, text=e.smtp_error.decode(errors="replace"))
    except (smtplib.SMTPException, OSError) as e:
        out(code=None, text=f"{type(e).__name__}: {e}")


def auth(a):
    codes = []

    def logins(c):
        for i in range(a.tries):
            token = base64.b64encode(f"\0{a.user}\0{a.password}".encode()).decode()
            code, text = c.docmd("AUTH", "PLAIN " + token)
            codes.append(code)
            if code == 235 or code == 421:
                return f"{code} {text.decode(errors='replace')}"
        return None

    final = converse(a, "guesser.example.org", logins)
    out(codes=codes, final=final)


def pregreet(a):
    try:
        s = raw(a)
        s.sendall(b"EHLO eager.example.org\r\n")
        reply = read_reply(s)
        out(reply=reply.strip(), closed=closed_by_peer(s))
    except OSError as e:
        out(reply=None, error=f"{type(e).__name__}: {e}")


def http(a):
    try:
        s = raw(a)
        greeting = read_reply(s)
        s.sendall(b"GET / HTTP/1.1\r\nHost: mx.example.net\r\nUser-Agent: scanner\r\n\r\n")
        reply = read_reply(s)
        out(greeting=greeting.strip(), reply=reply.strip(), closed=closed_by_peer(s))
    except OSError as e:
        out(reply=None, error=f"{type(e).__name__}: {e}")


def vrfy(a):
    replies = []
    try:
        c = connect(a)
        c.ehlo("enumerator.example.org")
        for i in range(a.count):
            code, text = c.verify(f"user{i}")
            replies.append(code)
        code, text = c.noop()
        out(replies=replies, after=code)
        c.quit()
    except (smtplib.SMTPException, OSError) as e:
        out(replies=replies, after=None, error=f"{type(e).__name__}: {e}")


def session(a):
    """One long session sending a message every --gap seconds (traffic during a change)."""
    codes = []
    try:
        c = connect(a)
        c.ehlo("steady.example.org")
        for i in range(a.messages):
            msg = (f"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: {a.id}-{i}\r\n"
                   f"Message-ID: <{a.id}-{i}@example.org>\r\n\r\n" + "steady traffic\r\n" * 200)
            c.mail("alice@example.org")
            c.rcpt("bob@example.net")
            code, _ = c.data(msg.encode())
            codes.append(code)
            time.sleep(a.gap)
        c.quit()
    except (smtplib.SMTPException, OSError) as e:
        out(codes=codes, error=f"{type(e).__name__}: {e}")
        return
    out(codes=codes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["harvest", "banner", "send", "auth", "pregreet", "http", "vrfy",
                                     "session"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--tries", type=int, default=5)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--id", default="probe")
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--gap", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    globals()[a.what](a)


if __name__ == "__main__":
    main()
