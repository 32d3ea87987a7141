#!/usr/bin/python3
"""A recording SMTP server for differential tests: recorder.py --dir DIR --listen ADDR:PORT...

A permissive MTA on a real Linux TCP socket: it accepts every sender and recipient and
every message, and records for each connection exactly what its application read:

  DIR/conn-<id>.client      every byte read from the socket, in order (written as read)
  DIR/conn-<id>-<n>.eml     each message it accepted (250 to the end of data / BDAT LAST):
                            the DATA lines dot-unstuffed with their own line endings, the
                            final "." line removed; or the BDAT chunks joined
  DIR/index.json            {"connections": [{"id", "peer", "port", "client",
                            "messages": [{"file", "mail_from", "rcpts", "bdat"}],
                            "closed", "bytes"}]}, rewritten (atomically) at every change

It reads lines the way Postfix's smtpd does: a line ends at LF and every CR before that
LF is dropped, so "<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<CR><CR><LF>" all end DATA —
the most lenient real reading, which is what lets a smuggled message through. No line
length limit, no error limit. EHLO advertises PIPELINING, CHUNKING, 8BITMIME and
STARTTLS; STARTTLS is answered 454 (TLS not available), as Postfix does when its TLS
setup is broken: the server stays in plaintext, so whatever follows is read as
commands and recorded. Unknown verbs get 500. SIGTERM: the index is written, then exit.
"""
import argparse
import asyncio
import json
import os
import signal

HOSTNAME = "mx.example.net"
EHLO_REPLY = (f"250-{HOSTNAME}\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-STARTTLS\r\n"
              "250-8BITMIME\r\n250 CHUNKING\r\n").encode()


class Index:
    def __init__(self, directory):
        self.dir = directory
        self.conns = []

    def write(self):
        tmp = os.path.join(self.dir, ".index.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"connections": self.conns}, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "index.json"))


class Session(asyncio.Protocol):
    def __init__(self, index):
        self.index = index
        self.buf = bytearray()
        self.mode = "command"     # command | data | bdat
        self.mail_from = None
        self.rcpts = []
        self.content = bytearray()  # the message being received (DATA lines or BDAT chunks)
        self.bdat_left = 0
        self.bdat_last = False
        self.bdat_ok = False
        self.bdat_started = False
        self.queued = 0

    # -- the connection ----------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.id = len(self.index.conns) + 1
        self.rec = {"id": self.id, "peer": peer[0], "port": peer[1],
                    "client": f"conn-{self.id}.client", "messages": [], "closed": None,
                    "bytes": 0}
        self.index.conns.append(self.rec)
        self.raw = open(os.path.join(self.index.dir, self.rec["client"]), "wb", buffering=0)
        self.index.write()
        self.reply(f"220 {HOSTNAME} ESMTP recorder\r\n".encode())

    def connection_lost(self, exc):
        self.raw.close()
        self.rec["closed"] = f"error: {exc}" if exc else "closed"
        self.index.write()

    def data_received(self, data):
        self.raw.write(data)
        self.rec["bytes"] += len(data)
        self.buf += data
        while self.buf and not self.transport.is_closing():
            if self.mode == "bdat":
                k = min(self.bdat_left, len(self.buf))
                if self.bdat_ok:
                    self.content += self.buf[:k]
                del self.buf[:k]
                self.bdat_left -= k
                if self.bdat_left:
                    return
                self.mode = "command"
                self.bdat_chunk_done()
                continue
            lf = self.buf.find(b"\n")
            if lf < 0:
                return
            raw = bytes(self.buf[:lf + 1])
            del self.buf[:lf + 1]
            line = raw[:-1].rstrip(b"\r")  # Postfix: LF ends a line, CRs before it go
            if self.mode == "data":
                self.data_line(raw, line)
            else:
                self.command(line)

    def reply(self, text):
        self.transport.write(text)

    # -- DATA --------------------------------------------------------------------
    def data_line(self, raw, line):
        if line == b".":
            self.accept(bdat=False)
            self.mode = "command"
            return
        self.content += raw[1:] if raw.startswith(b".") else raw

    # -- BDAT --------------------------------------------------------------------
    def bdat(self, args):
        parts = args.split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or \
                (len(parts) == 2 and parts[1].upper() != b"LAST"):
            return self.reply(b"501 5.5.4 Syntax: BDAT count [LAST]\r\n")
        self.bdat_left = int(parts[0])
        self.bdat_last = len(parts) == 2
        self.bdat_ok = self.mail_from is not None and bool(self.rcpts)
        if self.bdat_ok and not self.bdat_started:
            self.bdat_started = True
            self.content = bytearray()
        self.mode = "bdat"
        if not self.bdat_left:
            self.mode = "command"
            self.bdat_chunk_done()

    def bdat_chunk_done(self):
        if not self.bdat_ok:  # the chunk was read and thrown away, as Postfix does
            return self.reply(b"503 5.5.1 Error: need RCPT command\r\n")
        if self.bdat_last:
            self.accept(bdat=True)
        else:
            self.reply(b"250 2.0.0 Ok: chunk received\r\n")

    # -- commands ------------------------------------------------------------------
    def command(self, line):
        verb, _, args = line.partition(b" ")
        verb = verb.upper()
        if verb in (b"EHLO", b"HELO"):
            self.reset()
            self.reply(EHLO_REPLY if verb == b"EHLO" else f"250 {HOSTNAME}\r\n".encode())
        elif verb == b"MAIL" and args.upper().startswith(b"FROM:"):
            if self.mail_from is not None:
                return self.reply(b"503 5.5.1 Error: nested MAIL command\r\n")
            self.mail_from = args[5:].strip().decode("utf-8", "replace")
            self.reply(b"250 2.1.0 Ok\r\n")
        elif verb == b"RCPT" and args.upper().startswith(b"TO:"):
            if self.mail_from is None:
                return self.reply(b"503 5.5.1 Error: need MAIL command\r\n")
            self.rcpts.append(args[3:].strip().decode("utf-8", "replace"))
            self.reply(b"250 2.1.5 Ok\r\n")
        elif verb == b"DATA":
            if self.mail_from is None or not self.rcpts:
                return self.reply(b"503 5.5.1 Error: need RCPT command\r\n")
            self.content = bytearray()
            self.mode = "data"
            self.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"BDAT":
            self.bdat(args)
        elif verb == b"RSET":
            self.reset()
            self.reply(b"250 2.0.0 Ok\r\n")
        elif verb == b"NOOP":
            self.reply(b"250 2.0.0 Ok\r\n")
        elif verb == b"STARTTLS":
            self.reply(b"454 4.7.0 TLS not available due to local problem\r\n")
        elif verb == b"QUIT":
            self.reply(b"221 2.0.0 Bye\r\n")
            self.transport.close()
        else:
            self.reply(b"500 5.5.2 Error: command not recognized\r\n")

    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.bdat_started = False

    def accept(self, bdat):
        self.queued += 1
        name = f"conn-{self.id}-{self.queued}.eml"
        with open(os.path.join(self.index.dir, name), "wb") as f:
            f.write(self.content)
        self.rec["messages"].append({"file": name, "mail_from": self.mail_from,
                                     "rcpts": len(self.rcpts), "first_rcpts": self.rcpts[:3],
                                     "bdat": bdat})
        self.index.write()
        self.reply(f"250 2.0.0 Ok: queued as R{self.id}M{self.queued}\r\n".encode())
        self.content = bytearray()
        self.reset()


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    index = Index(args.dir)
    index.write()
    loop = asyncio.get_running_loop()
    servers = []
    for spec in args.listen:
        host, _, port = spec.rpartition(":")
        servers.append(await loop.create_server(lambda: Session(index), host.strip("[]"),
                                                int(port), reuse_address=True))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"recorder: listening on {' '.join(args.listen)}", flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    index.write()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--listen", action="append", required=True, help="ADDR:PORT ([V6]:PORT)")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
