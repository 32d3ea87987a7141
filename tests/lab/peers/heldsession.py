#!/usr/bin/python3
"""One SMTP session held open in the middle (the pool tests: a session that must not
move or be cut while the pool changes).

  heldsession.py SERVER ID GO_FILE [--want HOST]

Connects to SERVER:25, reads the banner (the pool's hosts greet with their own name),
sends EHLO, MAIL and RCPT, prints "HELD ID HOST", then waits (at most 120 s) until
GO_FILE exists, sends DATA with a message whose subject is ID, QUITs and prints
"DONE ID HOST CODE" (CODE: the reply to the end of data; CLOSED when the connection was
cut). With --want HOST, a session that lands on another host QUITs at once and the
next is tried (up to 200 tries): "HELD" then names HOST.
"""
import argparse
import os
import smtplib
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("id")
    ap.add_argument("go")
    ap.add_argument("--want")
    a = ap.parse_args()
    for _ in range(200):
        s = smtplib.SMTP(timeout=60)
        code, banner = s.connect(a.server, 25)
        host = banner.decode().split()[0] if code == 220 else "?"
        if a.want and host != a.want:
            s.quit()
            continue
        break
    else:
        print(f"NOTHELD {a.id} no session reached {a.want}", flush=True)
        return 1
    s.ehlo("client.example.org")
    s.mail("alice@example.org")
    s.rcpt("bob@example.net")
    print(f"HELD {a.id} {host}", flush=True)
    deadline = time.time() + 120
    while not os.path.exists(a.go) and time.time() < deadline:
        time.sleep(0.1)
    msg = (f"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: {a.id}\r\n\r\n"
           f"held session {a.id}\r\n").encode()
    try:
        code, _ = s.data(msg)
        s.quit()
    except (smtplib.SMTPException, OSError):
        code = "CLOSED"
    print(f"DONE {a.id} {host} {code}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
