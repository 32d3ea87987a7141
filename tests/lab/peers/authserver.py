#!/usr/bin/python3
"""A submission server with SMTP AUTH (aiosmtpd, Debian's python3-aiosmtpd) for the
password-guessing test: AUTH PLAIN and LOGIN over plaintext, one account; a wrong
password gets aiosmtpd's "535 5.7.8 Authentication credentials invalid". Postfix in
the lab has no SASL backend that can live in a namespace without touching the host's
configuration (Debian's Cyrus reads /etc/postfix/sasl), so this server stands in.

  authserver.py ADDR PORT USER PASSWORD
"""
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: kept nowhere"


def main():
    addr, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and
              auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

    c = Controller(Sink(), hostname=addr, port=port, authenticator=authenticator,
                   auth_require_tls=False, server_hostname="submit.example.net")
    c.start()
    print(f"authserver: listening on {addr}:{port}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    c.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
