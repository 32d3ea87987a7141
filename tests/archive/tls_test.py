#!/usr/bin/python3
"""The archive is closed to everyone but its own peers (issue 12), tested with real TLS
stacks on loopback:

  journal listener (mutual TLS):  a gateway with a certificate from the archive's CA
      that is on the allowlist is accepted and its copies carry its name; a certificate
      from another CA, an expired one, an unlisted one, and a plain-TCP client are
      refused, and nothing of theirs is stored;
  SMTP listener (STARTTLS + client certificate): nothing is taken before TLS, an allowed
      mail host's copy is stored under its certificate name, an unlisted host is refused;
  limits: 600 idle connections from ten addresses do not keep an authenticated gateway
      out; idle handshakes are dropped at their deadline; a header claiming 64 MiB
      costs no memory while its bytes do not come, and the connection is closed when
      the peer goes quiet.

usage: tls_test.py SLUICE_ARCHIVE"""
import datetime
import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_env  # noqa: E402
import journal_proto as jp  # noqa: E402

EXE = sys.argv[1]
expect = archive_env.expect
failures = archive_env.failures


def make_expired(pki, name):
    """A certificate from the archive's CA that expired yesterday (openssl's CLI cannot
    date one in the past, so the cryptography package signs it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    with open(os.path.join(pki, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(pki, "ca.crt"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(pki, name + ".key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(pki, name + ".crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def record(i, source="gw1"):
    msg = b"From: a@example.com\r\nSubject: tls test %d quillfeather\r\n\r\nbody %d\r\n" % (i, i)
    return jp.payload(1700000000000000 + i, source, msg, direction=1)


def journal_try(addr, ctx, body):
    """Send one record; the reply type, or the reason there was none."""
    try:
        s = jp.connect(addr, timeout=10, tls=ctx)
        s.sendall(jp.frame(jp.RECORD, body))
        ftype, _, _, _ = jp.read_reply(s)
        s.close()
        return ftype
    except (OSError, ValueError, ConnectionError) as e:
        return "no reply (%s)" % type(e).__name__


def search(data, q):
    p = subprocess.run([EXE, "search", "--data", data, q, "--json", "--limit", "0"],
                       capture_output=True, text=True)
    return [json.loads(l) for l in p.stdout.splitlines()]


def data_kb(pid):
    """The process's data and anonymous mappings (a malloc of a claimed length shows
    here at once, touched or not)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1])
    return 0


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-tls-")
    srv = None
    held = []
    try:
        pki = archive_env.setup(EXE, work, peers=("gw1", "mail1", "gw-unlisted"))
        other = os.path.join(work, "other-ca")
        subprocess.run([archive_env.PKI_TOOL, other, "gw1"], check=True)
        make_expired(pki, "gw-expired")
        data = os.path.join(work, "data")
        log = open(os.path.join(work, "serve.log"), "w+")
        srv = subprocess.Popen(
            [EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
             "--smtp-listen", "127.0.0.1:0", *archive_env.serve_tls(pki),
             "--journal-allow", "gw1", "--journal-allow", "gw-expired",
             "--smtp-allow", "mail1", "--handshake-timeout", "2", "--idle-timeout", "4",
             "--max-handshakes", "16", "--max-per-addr", "8"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        jaddr = srv.stdout.readline().split()[2]
        saddr = srv.stdout.readline().split()[2]

        # ---- journal: who may submit
        ok = journal_try(jaddr, jp.tls_context(pki, "gw1"), record(1))
        expect(ok == jp.ACK, "a gateway with the archive CA's certificate is accepted (%s)" % ok)
        wrong_ca = jp.tls_context(pki, "gw1")
        wrong_ca.load_cert_chain(os.path.join(other, "gw1.crt"), os.path.join(other, "gw1.key"))
        for what, ctx, n in (("another CA", wrong_ca, 2),
                             ("an expired certificate", jp.tls_context(pki, "gw-expired"), 3),
                             ("an unlisted peer", jp.tls_context(pki, "gw-unlisted"), 4),
                             ("a plain-TCP client", None, 5)):
            got = journal_try(jaddr, ctx, record(n))
            expect(got != jp.ACK and got != jp.REFUSE, "%s is refused: %s" % (what, got))
        time.sleep(0.3)
        log.seek(0)
        text = log.read()
        expect("certificate has expired" in text, "the archive says the certificate expired")
        expect('"gw-unlisted" is not allowed' in text, "the archive names the unlisted peer")
        expect(archive_env.wait_indexed(EXE, data), "the index caught up with the server")
        hits = search(data, "quillfeather")
        expect(len(hits) == 1, "only the accepted gateway's record is stored (%d)" % len(hits))
        show = subprocess.run([EXE, "show", "--data", data, str(hits[0]["id"])] if hits else
                              ["true"], capture_output=True, text=True).stdout
        expect("over journal from gw1 at 127.0.0.1:" in show,
               "the copy records the authenticated peer, not the claim: %s" % show[:300])

        # ---- SMTP: STARTTLS and a client certificate before anything is taken
        msg = b"From: carol@corp.example\r\nSubject: internal lanternfish\r\n\r\nhello\r\n"
        with smtplib.SMTP(saddr.rsplit(":", 1)[0], int(saddr.rsplit(":", 1)[1]), timeout=10) as s:
            s.ehlo("mail1.corp.example")
            code, _ = s.docmd("MAIL FROM:<carol@corp.example>")
            expect(code == 530, "MAIL before STARTTLS is refused (%d)" % code)
            s.starttls(context=jp.tls_context(pki, "mail1"))
            s.ehlo("mail1.corp.example")
            s.sendmail("carol@corp.example", ["archive@archive.invalid"], msg)
        expect(archive_env.wait_indexed(EXE, data), "the index caught up with the server")
        hits = search(data, "lanternfish source:mail1")
        expect(len(hits) == 1, "an allowed mail host's copy is stored under its name")
        try:
            with smtplib.SMTP(saddr.rsplit(":", 1)[0], int(saddr.rsplit(":", 1)[1]), timeout=10) as s:
                s.ehlo("x")
                s.starttls(context=jp.tls_context(pki, "gw1"))  # not on the SMTP allowlist
                s.ehlo("x")
                s.sendmail("a@example.com", ["b@example.com"], b"Subject: should not\r\n\r\nx\r\n")
            refused = False
        except (smtplib.SMTPException, OSError):
            refused = True
        expect(refused, "an unlisted mail host is refused after STARTTLS")

        # ---- 600 idle connections from ten addresses, then a gateway
        for i in range(600):
            c = socket.socket()
            c.bind(("127.0.0.%d" % (2 + i % 10), 0))
            try:
                c.connect(tuple(jaddr.rsplit(":", 1)[0:1]) + (int(jaddr.rsplit(":", 1)[1]),))
            except OSError:
                pass
            held.append(c)
        t0 = time.monotonic()
        p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki, "gw1"),
                            "--source", "gw1", *[os.path.join(work, "m%d.eml" % k) for k in range(5)
                                                 if open(os.path.join(work, "m%d.eml" % k), "wb").write(
                                                     b"Subject: under siege %d marmalade\r\n\r\nx\r\n" % k)]],
                           capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        expect(p.returncode == 0 and p.stdout.count("stored") == 5,
               "with 600 idle connections held, a gateway stores 5 records in %.2f s (%s)" %
               (took, p.stderr.strip()[-200:]))
        # the idle ones are dropped at the handshake deadline (2 s)
        time.sleep(2.5)
        closed = 0
        for c in held:
            c.settimeout(0.01)
            try:
                closed += c.recv(1) == b""
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                closed += 1
        expect(closed == len(held), "%d of %d idle connections closed by the archive" % (closed, len(held)))
        for c in held:
            c.close()
        held = []

        # ---- a header claiming 64 MiB, and then silence
        before = data_kb(srv.pid)
        s = jp.connect(jaddr, tls=jp.tls_context(pki, "gw1"))
        head = jp.MAGIC + bytes([jp.VERSION, jp.RECORD, 0, 0]) + (64 << 20).to_bytes(4, "big") + b"\0\0\0\0"
        s.sendall(head + b"x" * 1000)
        time.sleep(1)
        grown = data_kb(srv.pid) - before
        expect(grown < 16 * 1024, "a 64 MiB claim costs %d KiB while its bytes do not come" % grown)
        s.settimeout(10)
        t0 = time.monotonic()
        try:
            eof = s.recv(1) == b""
        except OSError:
            eof = True
        expect(eof and time.monotonic() - t0 < 8, "the silent peer is closed at the idle timeout")
        s.close()
    finally:
        for c in held:
            c.close()
        if srv:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(timeout=30)
            except subprocess.TimeoutExpired:
                srv.kill()
                failures.append("serve did not stop on SIGTERM")
        if failures:
            try:
                print(open(os.path.join(work, "serve.log")).read()[-3000:])
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    archive_env.finish("archive TLS and limits checks passed")


if __name__ == "__main__":
    main()
