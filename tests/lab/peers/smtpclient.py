#!/usr/bin/python3
"""The lab's Python SMTP client (smtplib): smtpclient.py MODE [options] MESSAGE...

Prints one line per server reply:  STEP MESSAGE CODE TEXT
(MESSAGE is the message file's name without directory and .eml, i.e. the test's ID;
STEP is CONNECT, EHLO, STARTTLS, MAIL, RCPT, DATA, END, BDAT, LAST, QUIT; a closed
connection prints CLOSED). Exit status 0 when the session ran to its end, whatever the
replies were: the test decides what the replies must be.

Modes
  send        one session per message: EHLO, [STARTTLS], MAIL, RCPT, DATA, message
  pipeline    one session for all messages, PIPELINING: MAIL+RCPT+DATA in one write,
              and each message's end-of-data in the same write as the next MAIL+RCPT+DATA
  bdat        one session, each message in BDAT chunks of --chunk bytes (CHUNKING)
  rawdata     one session per message: MAIL, RCPT, DATA, then the file's bytes exactly as
              they are (no dot-stuffing, no line-ending repair; the file carries its own
              end-of-data) — for smuggling tests; reads replies until the server goes quiet
  concurrent  --sessions N sessions at once: all connect and EHLO, wait for each other,
              then each sends the message (with an X-Lab-Seq header) and QUITs; prints
              one summary line  CONCURRENT ok=N failed=N seconds=S
"""
import argparse
import os
import smtplib
import socket
import ssl
import sys
import threading
import time

out_lock = threading.Lock()


def say(step, name, code, text):
    name = os.path.splitext(os.path.basename(name))[0] or "-"
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    with out_lock:
        print(f"{step} {name} {code} {text}", flush=True)


def read_message(path):
    with open(path, "rb") as f:
        return f.read()


def dot_stuff(data):
    """The DATA form of a message: CRLF lines, leading dots doubled, CRLF.CRLF appended."""
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)
    return body + b"\r\n.\r\n"


def connect(args):
    s = smtplib.SMTP(local_hostname=args.helo, timeout=args.timeout)
    s._host = args.server  # starttls() takes the TLS server name from here
    code, text = s.connect(args.server, args.port)
    say("CONNECT", "-", code, text)
    code, text = s.ehlo(args.helo)
    say("EHLO", "-", code, " ".join(sorted(s.esmtp_features)))
    if args.starttls:
        if s.has_extn("starttls"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the lab server's snakeoil certificate
            try:
                code, text = s.starttls(context=ctx)
                say("STARTTLS", "-", code, f"{text.decode(errors='replace')} {s.sock.version()}")
                s.ehlo(args.helo)
            except smtplib.SMTPResponseException as e:
                # refused: go on in plaintext, as an opportunistic client does
                say("STARTTLS", "-", e.smtp_code, e.smtp_error)
        else:
            say("STARTTLS", "-", 0, "not offered")
    return s


def quit_(s, name="-"):
    try:
        code, text = s.docmd("QUIT")
        say("QUIT", name, code, text)
    except (smtplib.SMTPException, OSError) as e:
        say("CLOSED", name, 0, str(e))
    finally:
        s.close()


def envelope(s, args, name):
    """MAIL and RCPT; True when the transaction may continue to DATA/BDAT."""
    code, text = s.mail(args.sender)
    say("MAIL", name, code, text)
    ok = code == 250
    for rcpt in args.rcpt:
        code, text = s.rcpt(rcpt)
        say("RCPT", name, code, text)
        ok = ok and code in (250, 251)
    return ok


def one_session_per_message(args, after_354):
    """For each message: connect, envelope, DATA; on 354 AFTER_354(session, path) sends
    the data and reads the answer, returning False when the session is over."""
    for path in args.messages:
        s = connect(args)
        try:
            if envelope(s, args, path):
                code, text = s.docmd("DATA")
                say("DATA", path, code, text)
                if code == 354 and not after_354(s, path):
                    continue
            quit_(s, path)
        except (smtplib.SMTPException, OSError) as e:
            say("CLOSED", path, 0, str(e))


def mode_send(args):
    def data(s, path):
        s.send(dot_stuff(read_message(path)))
        code, text = s.getreply()
        say("END", path, code, text)
        return True
    one_session_per_message(args, data)


def pipelined_group(args):
    return (f"MAIL FROM:<{args.sender}>\r\n".encode() +
            b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in args.rcpt) + b"DATA\r\n")


def read_group(s, args, name):
    """Replies to one pipelined MAIL+RCPT...+DATA group; True when DATA got 354."""
    code, text = s.getreply()
    say("MAIL", name, code, text)
    for _ in args.rcpt:
        code, text = s.getreply()
        say("RCPT", name, code, text)
    code, text = s.getreply()
    say("DATA", name, code, text)
    return code == 354


def mode_pipeline(args):
    s = connect(args)
    if not s.has_extn("pipelining"):
        say("EHLO", "-", 0, "PIPELINING not offered")
        return quit_(s)
    try:
        s.send(pipelined_group(args))
        paths = args.messages
        for i, path in enumerate(paths):
            if not read_group(s, args, path):
                break
            nxt = pipelined_group(args) if i + 1 < len(paths) else b"QUIT\r\n"
            s.send(dot_stuff(read_message(path)) + nxt)
            code, text = s.getreply()
            say("END", path, code, text)
        else:
            code, text = s.getreply()
            say("QUIT", "-", code, text)
            s.close()
            return
        quit_(s)
    except (smtplib.SMTPException, OSError) as e:
        say("CLOSED", "-", 0, str(e))


def mode_bdat(args):
    s = connect(args)
    if not s.has_extn("chunking"):
        say("EHLO", "-", 0, "CHUNKING not offered")
        return quit_(s)
    try:
        for path in args.messages:
            if not envelope(s, args, path):
                continue
            data = read_message(path)
            for off in range(0, len(data), args.chunk):
                chunk = data[off:off + args.chunk]
                last = off + args.chunk >= len(data)
                s.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
                code, text = s.getreply()
                say("LAST" if last else "BDAT", path, code, text)
                if code != 250:
                    break
        quit_(s)
    except (smtplib.SMTPException, OSError) as e:
        say("CLOSED", "-", 0, str(e))


def read_until_quiet(s, name, quiet):
    """Print every reply line until the server says nothing for QUIET seconds."""
    s.sock.settimeout(quiet)
    buf = b""
    try:
        while True:
            data = s.sock.recv(65536)
            if not data:
                say("CLOSED", name, 0, "by server")
                return False
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                say("REPLY", name, line[:3].decode(errors="replace"), line[4:])
    except socket.timeout:
        return True


def mode_rawdata(args):
    def data(s, path):
        s.send(read_message(path))
        if not read_until_quiet(s, path, args.quiet):
            return False
        s.sock.settimeout(args.timeout)
        return True
    one_session_per_message(args, data)


def mode_concurrent(args):
    template = read_message(args.messages[0])
    barrier = threading.Barrier(args.sessions, timeout=args.timeout)
    results = [False] * args.sessions

    def one(i):
        try:
            s = smtplib.SMTP(args.server, args.port, local_hostname=args.helo,
                             timeout=args.timeout)
            s.ehlo(args.helo)
            barrier.wait()
            msg = f"X-Lab-Seq: {i}\r\n".encode() + template
            refused = s.sendmail(args.sender, args.rcpt, msg)
            s.quit()
            results[i] = not refused
        except (smtplib.SMTPException, OSError, threading.BrokenBarrierError) as e:
            say("FAILED", str(i), 0, repr(e))
            barrier.abort()

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = sum(results)
    say("CONCURRENT", "-", 0,
        f"ok={ok} failed={args.sessions - ok} seconds={time.monotonic() - start:.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["send", "pipeline", "bdat", "rawdata", "concurrent"])
    p.add_argument("messages", nargs="+")
    p.add_argument("--server", default="192.0.2.2")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--helo", default="client.example.org")
    p.add_argument("--from", dest="sender", default="alice@example.org")
    p.add_argument("--to", dest="rcpt", action="append")
    p.add_argument("--starttls", action="store_true", help="use STARTTLS when offered")
    p.add_argument("--chunk", type=int, default=65536, help="BDAT chunk size")
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--quiet", type=float, default=3.0,
                   help="rawdata: seconds of silence that end the reply collection")
    args = p.parse_args()
    args.rcpt = args.rcpt or ["bob@example.net"]
    {"send": mode_send, "pipeline": mode_pipeline, "bdat": mode_bdat,
     "rawdata": mode_rawdata, "concurrent": mode_concurrent}[args.mode](args)


if __name__ == "__main__":
    main()
