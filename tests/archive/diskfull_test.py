#!/usr/bin/python3
"""Disk full (issue 12): sluice-archive on a small tmpfs. Records are sent until the
disk is full; then senders get temporary failures (journal: no ACK and the connection
closed, so the gateway keeps its spool; SMTP: 451), nothing acknowledged is lost, and
once space returns ingest resumes by itself. --min-free refuses before the disk is full.

usage: diskfull_test.py SLUICE_ARCHIVE   (root: mounts a tmpfs)"""
import json
import os
import shutil
import signal
import smtplib
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


def send(addr, ctx, body):
    """True when the record was acknowledged."""
    try:
        s = jp.connect(addr, timeout=20, tls=ctx)
        s.sendall(jp.frame(jp.RECORD, body))
        ftype = jp.read_reply(s)[0]
        s.close()
        return ftype == jp.ACK
    except (OSError, ValueError, ConnectionError):
        return False


def body(i):
    msg = b"Subject: disk full %d\r\n\r\n" % i + os.urandom(150000).hex().encode()
    return jp.payload(1700000000000000 + i, "gw1", msg)


def smtp_code(saddr, pki, size=20000, text=False):
    host, port = saddr.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=20) as s:
        s.ehlo("mail1")
        s.starttls(context=jp.tls_context(pki, "mail1"))
        s.ehlo("mail1")
        s.mail("a@corp.example")
        s.rcpt("archive@archive.invalid")
        body = b"\r\n".join(os.urandom(49).hex().encode() for _ in range(size // 100))
        code, reply = s.data(b"Subject: while full\r\n\r\n" + body)
        return (code, reply.decode()) if text else code


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-full-")
    mnt = os.path.join(work, "disk")
    os.makedirs(mnt)
    srv = None
    mounted = False
    try:
        pki = archive_env.setup(EXE, work)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", mnt], check=True)
        mounted = True
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (100 << 20))
        data = os.path.join(mnt, "data")
        log = open(os.path.join(work, "serve.log"), "w+")

        def start(*extra):
            p = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                                  "--smtp-listen", "127.0.0.1:0", *archive_env.serve_tls(pki),
                                  *extra], stdout=subprocess.PIPE, stderr=log, text=True)
            return p, p.stdout.readline().split()[2], p.stdout.readline().split()[2]

        srv, jaddr, saddr = start("--min-free", "0")
        ctx = jp.tls_context(pki, "gw1")
        acked, i, misses = [], 0, 0
        while misses < 3 and i < 2000:
            b = body(i)
            if send(jaddr, ctx, b):
                acked.append(b)
            else:
                misses += 1
            i += 1
        expect(misses == 3 and len(acked) > 20, "the disk filled after %d acknowledged records" % len(acked))
        # full: a temporary failure for everyone, nothing acknowledged
        expect(not send(jaddr, ctx, body(5000)), "a journal record is not acknowledged while full")
        code = smtp_code(saddr, pki)
        expect(400 <= code < 500, "SMTP answers a temporary failure while full (%d)" % code)
        log.seek(0)
        expect("store write failed" in log.read(), "the failed write is reported")
        # space returns: ingest resumes by itself
        os.unlink(filler)
        t0, resumed = time.monotonic(), False
        while time.monotonic() - t0 < 30 and not resumed:
            b = body(6000)
            resumed = send(jaddr, ctx, b)
            if resumed:
                acked.append(b)
            else:
                time.sleep(0.5)
        expect(resumed, "ingest resumed %.1f s after space returned" % (time.monotonic() - t0))
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
        ids = os.path.join(work, "acked.txt")
        with open(ids, "w") as f:
            f.write("".join(jp.record_id(b).hex() + "\n" for b in acked))
        v = subprocess.run([EXE, "verify", "--data", data, "--records", ids], capture_output=True, text=True)
        r = json.loads(v.stdout) if v.stdout else {}
        expect(v.returncode == 0 and r.get("records_missing") == 0 and r.get("copies") == len(acked),
               "every acknowledged record is stored once, the store verifies: %s" % v.stdout.strip())

        # --min-free: refused before the disk is full; --max-inflight: an SMTP message
        # is held in memory only as far as the budget goes
        srv, jaddr, saddr = start("--min-free", "100000", "--max-inflight", "1")
        code, reply = smtp_code(saddr, pki, size=3 << 20, text=True)
        expect(code == 452 and "short of memory" in reply,
               "a 3 MB SMTP message over a 1 MB memory budget: %d %s" % (code, reply))
        expect(not send(jaddr, ctx, body(7000)), "--min-free refuses while the disk has less free")
        log.seek(0)
        expect("ingest refused until there is room" in log.read(), "--min-free says why")
    finally:
        if srv and srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(timeout=30)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
        if failures:
            try:
                print(open(os.path.join(work, "serve.log")).read()[-3000:])
            except OSError:
                pass
        if mounted:
            subprocess.run(["umount", mnt])
        shutil.rmtree(work, ignore_errors=True)
    archive_env.finish("disk-full checks passed")


if __name__ == "__main__":
    main()
