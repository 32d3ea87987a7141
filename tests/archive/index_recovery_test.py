#!/usr/bin/python3
"""The index off the acknowledgement path (issue 14): sluice-archive acknowledges a
record once it is durable and indexes it later in posting blocks that span many
batches. Kill the archive between the acknowledgement and the index write, twice, and
check that after a restart search finds every acknowledged message.

Phase 1: serve with an index delay of 10 minutes, so nothing is indexed; 600 records
acknowledged; `stats` (beside the server) shows the lag of 600, a term search finds
none of them yet; SIGKILL; restart with the defaults: the lag drops to 0 and every
acknowledged message is found by a body word and by an envelope term.
Phase 2: blocks of 100 copies, 450 more records (some re-journal phase-1 messages under
another envelope): 400 indexed, 50 pending; SIGKILL; restart: all found, including the
re-journaled messages by their new envelope. Then verify.

usage: index_recovery_test.py SLUICE_ARCHIVE"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_env  # noqa: E402
import journal_proto as jp  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from sluicetest import require  # noqa: E402

WINDOW = 50


def message(m):
    return ("From: user%d@example.com\r\nTo: peer@example.net\r\nSubject: recovery %d\r\n"
            "Message-ID: <recovery-%d@example.com>\r\n\r\nrecoverymark body of message "
            "number%d\r\n" % (m % 13, m, m, m)).encode()


def record(i, m, rule):
    return jp.payload(1700000000000000 + i, "gw1", message(m), mail_from="gw@example.com",
                      rcpts=["peer@example.net"], rules=[rule], direction=1)


class Server:
    def __init__(self, exe, data, pki):
        self.exe, self.data, self.pki, self.proc = exe, data, pki, None

    def start(self, *extra):
        self.proc = subprocess.Popen(
            [self.exe, "serve", "--data", self.data, "--journal-listen", "127.0.0.1:0",
             *archive_env.serve_tls(self.pki), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        require(line.startswith("listening journal "), "archive did not start: %r" % line)
        return line.split()[2]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        require(self.proc.wait(timeout=60) == 0, "archive exited badly on SIGTERM")


def send_all(addr, tls, bodies):
    """Every record acknowledged as stored (status 0)."""
    sock = jp.connect(addr, timeout=30, tls=tls)
    for k in range(0, len(bodies), WINDOW):
        batch = bodies[k:k + WINDOW]
        sock.sendall(b"".join(jp.frame(jp.RECORD, b) for b in batch))
        for b in batch:
            ftype, rid, status, reason = jp.read_reply(sock)
            require(ftype == jp.ACK and status == 0 and rid == jp.record_id(b),
                    "record not stored: %s %s %s" % (ftype, status, reason))
    sock.close()


def stats(exe, data):
    out = subprocess.run([exe, "stats", "--data", data, "--json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def search(exe, data, q):
    out = subprocess.run([exe, "search", "--data", data, q, "--json", "--limit", "0"],
                         capture_output=True, text=True, check=True).stdout
    return {json.loads(line)["sha256"] for line in out.splitlines()}


def wait_caught_up(exe, data, copies):
    deadline = time.time() + 60
    while time.time() < deadline:
        st = stats(exe, data)
        if st["copies"] == copies and st["index_lag_copies"] == 0:
            return st
        time.sleep(0.2)
    raise AssertionError("the index did not catch up after the restart: %s" % st)


def sha(m):
    return hashlib.sha256(message(m)).hexdigest()


def main():
    exe = sys.argv[1]
    work = tempfile.mkdtemp(prefix="sluice-index-recovery-")
    data = os.path.join(work, "data")
    pki = archive_env.setup(exe, work)
    tls = jp.tls_context(pki, "gw1")
    srv = Server(exe, data, pki)
    try:
        # phase 1: nothing indexed when the archive dies
        addr = srv.start("--index-delay", "600000", "--index-block", "100000")
        send_all(addr, tls, [record(i, i, "recovery.one") for i in range(600)])
        st = stats(exe, data)
        require(st["copies"] == 600 and st["index_lag_copies"] == 600,
                "before the kill: %d copies, lag %d (want 600, 600)" % (
                    st["copies"], st["index_lag_copies"]))
        require(search(exe, data, "recoverymark") == set(),
                "found before the indexer wrote anything")
        srv.kill()
        srv.start()
        wait_caught_up(exe, data, 600)
        want = {sha(m) for m in range(600)}
        got = search(exe, data, "recoverymark")
        require(got == want, "after restart: %d of 600 found by a body word, %d wrong" % (
            len(got & want), len(got - want)))
        require(search(exe, data, "rule:recovery.one") == want, "rule search after restart")
        require(search(exe, data, "subject:\"recovery 17\"") == {sha(17)}, "phrase after restart")
        print("phase 1: 600 acknowledged, none indexed at the kill, all found after restart")
        srv.stop()

        # phase 2: blocks of 100; the kill leaves 50 copies unindexed; copies 600..629
        # re-journal messages 0..29 (a document the store has, a new envelope)
        addr = srv.start("--index-delay", "600000", "--index-block", "100")
        bodies = [record(600 + k, k if k < 30 else 600 + k, "recovery.two") for k in range(450)]
        send_all(addr, tls, bodies)
        st = stats(exe, data)
        require(st["copies"] == 1050 and st["index_lag_copies"] == 50,
                "before the second kill: %d copies, lag %d (want 1050, 50)" % (
                    st["copies"], st["index_lag_copies"]))
        srv.kill()
        srv.start()
        wait_caught_up(exe, data, 1050)
        want_two = {sha(k if k < 30 else 600 + k) for k in range(450)}
        got = search(exe, data, "rule:recovery.two")
        require(got == want_two, "rule:recovery.two: %d of %d found, %d wrong" % (
            len(got & want_two), len(want_two), len(got - want_two)))
        want_all = want | want_two
        got = search(exe, data, "recoverymark")
        require(got == want_all, "body word after the second restart: %d of %d, %d wrong" % (
            len(got & want_all), len(want_all), len(got - want_all)))
        require(search(exe, data, "number1040") == {sha(1040)}, "the last copy's body word")
        srv.stop()
        v = subprocess.run([exe, "verify", "--data", data], capture_output=True, text=True)
        require(v.returncode == 0, "verify: %s %s" % (v.stdout, v.stderr[-800:]))
        st = stats(exe, data)
        require(st["index_state"] == "current", "index state %s" % st["index_state"])
        print("phase 2: 400 indexed, 50 pending at the kill, all 1050 copies found after restart")
        print("index recovery test passed")
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
