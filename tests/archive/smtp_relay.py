"""A scripted SMTP relay for the release tests (release_test.py, api_test.py): what a
mail host receives when the archive releases a quarantined message."""
import socket
import ssl
import threading


class Relay:
    """A scripted SMTP server on 127.0.0.1: records each transaction's envelope and its
    data (dot-stuffing undone) and whether it came under TLS; refuses recipients in
    `refuse` with 550. tls=(cert, key): offers STARTTLS with that certificate."""

    def __init__(self, refuse=(), tls=None):
        self.refuse = set(refuse)
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.got = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(10)
            try:
                self.session(c)
            except (OSError, ssl.SSLError):
                pass  # a client that gave up (a refused certificate)
            finally:
                c.close()

    def session(self, c):
        f = c.makefile("rwb")

        def say(line):
            f.write(line + b"\r\n")
            f.flush()
        say(b"220 relay.test ESMTP")
        env = {"from": None, "rcpt": [], "tls": False}
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            verb = cmd[:4].upper()
            if verb == b"EHLO":
                say(b"250-relay.test")
                if self.tls and not env["tls"]:
                    say(b"250-STARTTLS")
                say(b"250 8BITMIME")
            elif cmd.upper() == b"STARTTLS" and self.tls:
                say(b"220 2.0.0 Ready to start TLS")
                c = self.tls.wrap_socket(c, server_side=True)
                f = c.makefile("rwb")
                env["tls"] = True
            elif verb == b"MAIL":
                env["from"] = cmd.split(b"<", 1)[1].rsplit(b">", 1)[0].decode()
                say(b"250 2.1.0 Ok")
            elif verb == b"RCPT":
                r = cmd.split(b"<", 1)[1].rsplit(b">", 1)[0].decode()
                if r in self.refuse:
                    say(b"550 5.1.1 <%s>: Recipient address rejected" % r.encode())
                else:
                    env["rcpt"].append(r)
                    say(b"250 2.1.5 Ok")
            elif verb == b"DATA":
                say(b"354 go ahead")
                data = b""
                while True:
                    dl = f.readline()
                    if dl in (b".\r\n", b""):
                        break
                    data += dl[1:] if dl.startswith(b".") else dl
                env["data"] = data
                self.got.append(env)
                env = {"from": None, "rcpt": [], "tls": env["tls"]}
                say(b"250 2.0.0 Ok: queued as R%d" % len(self.got))
            elif verb == b"QUIT":
                say(b"221 2.0.0 Bye")
                return
            else:
                say(b"502 5.5.2 no")

    def close(self):
        self.sock.close()
