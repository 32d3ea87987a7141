#!/usr/bin/python3
"""sluice-archive end to end: import every message of tests/data, export each one and
compare byte for byte, re-import (all duplicates), searches before and after reindex,
bad queries, the audit log, reading alongside a running server, and the spooling
journal sender across an archive outage.

usage: cli_test.py SLUICE_ARCHIVE"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_env  # noqa: E402

EXE = sys.argv[1]
SRC = os.environ.get("SLUICE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA_DIRS = [os.path.join(SRC, "tests/data/mail-gem", d)
             for d in sorted(os.listdir(os.path.join(SRC, "tests/data/mail-gem")))
             if os.path.isdir(os.path.join(SRC, "tests/data/mail-gem", d))]
DATA_DIRS.append(os.path.join(SRC, "tests/data/zeek/messages"))
failures = []


def run(*args, check=True, **kw):
    p = subprocess.run([EXE, *args], capture_output=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode,
                                                    p.stderr.decode(errors="replace")[-2000:]))
    return p


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def wait_until(cond, seconds):
    """Poll cond until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Doorway:
    """The archive's address as the journal sender knows it: a port the test holds from
    start to end (bound to port 0, read back). Not listening, it refuses connections:
    the archive is down. open_to(ADDR) listens and relays each connection to the archive
    at ADDR (a port it chose itself)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def open_to(self, target):
        host, port = target.rsplit(":", 1)
        self.sock.listen(8)
        threading.Thread(target=self._accept, args=((host, int(port)),), daemon=True).start()

    def _accept(self, target):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            archive = socket.create_connection(target)
            for a, b in ((client, archive), (archive, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.sock.close()


def search(data, q, limit=0):
    out = run("search", "--data", data, q, "--json", "--limit", str(limit)).stdout
    return [json.loads(l) for l in out.decode().splitlines()]


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-cli-")
    data = os.path.join(work, "data")
    try:
        pki = archive_env.setup(EXE, work)
        tls = archive_env.serve_tls(pki)
        gw = archive_env.client_tls(pki, "gw1")
        # ---- import everything, -v maps each file to its message id
        p = run("import", "--data", data, "-v", *DATA_DIRS)
        ids = {}
        for line in p.stdout.decode().splitlines():
            mid, _, path = line.split("\t", 2)
            ids[path] = int(mid)
        files = [os.path.join(r, f) for d in DATA_DIRS for r, _, fs in os.walk(d) for f in fs]
        empty = [f for f in files if os.path.getsize(f) == 0]
        expect(len(ids) == len(files) - len(empty), "imported %d of %d files" % (len(ids), len(files)))
        expect(p.stderr.decode().count("refused: empty message") == len(empty),
               "empty files are refused with a reason")

        # ---- byte-exact export of every message
        out = os.path.join(work, "export")
        run("export", "--data", data, *[str(i) for i in sorted(set(ids.values()))], "--eml", out)
        exact = 0
        for path, mid in ids.items():
            with open(path, "rb") as f, open(os.path.join(out, "%d.eml" % mid), "rb") as g:
                if f.read() == g.read():
                    exact += 1
                else:
                    expect(False, "export of %s (id %d) differs from the original" % (path, mid))
        print("byte-exact export: %d of %d messages" % (exact, len(ids)))
        v = json.loads(run("verify", "--data", data).stdout)
        expect(v["damaged"] == 0, "verify found damage: %s" % v)

        # ---- a second import of the same files: every record a duplicate
        p = run("import", "--data", data, *DATA_DIRS)
        expect(b"0 stored" in p.stderr, "re-import stored something: %s" % p.stderr[-200:])

        # ---- searches, before and after reindex
        queries = ["testing", "from:mikel@test.lindsaar.net", "to:gmail.com", "has:attachment",
                   "subject:test -from:mikel", "after:2008-01-01 before:2009-01-01",
                   "\"hello world\" OR body:attachment", "filename:pdf", "direction:unknown",
                   "source:import"]
        before = {q: [r["id"] for r in search(data, q)] for q in queries}
        for q in ["testing", "has:attachment", "source:import"]:
            expect(len(before[q]) > 0, "no result for %r" % q)
        expect(len(before["source:import"]) == len(set(ids.values())),
               "source:import finds %d of %d" % (len(before["source:import"]), len(set(ids.values()))))
        # the doc key holds dates 1970..2106: dates outside sort as that boundary, in
        # store order among themselves (mail-gem has 1969 and year-3609 messages)
        dates = [min(max(r["date_unix"], 0), 2**32 - 1) for r in search(data, "source:import")]
        expect(dates == sorted(dates, reverse=True), "results are not newest first")
        ranged = search(data, "after:2008-01-01 before:2009-01-01")
        expect(all(1199145600 <= r["date_unix"] < 1230768000 for r in ranged),
               "date range returned a message outside it")
        run("reindex", "--data", data)
        after = {q: [r["id"] for r in search(data, q)] for q in queries}
        expect(before == after, "reindex changed search results")
        st = json.loads(run("stats", "--data", data, "--json").stdout)
        expect(st["index_state"] == "current" and st["index_lag_copies"] == 0, "index: %s" % st)

        # ---- bad queries: exit 2 and the column
        p = run("search", "--data", data, "subject:x nope:y", check=False)
        expect(p.returncode == 2 and b"column 11: unknown field" in p.stderr,
               "bad query: %d %s" % (p.returncode, p.stderr))

        # ---- the audit log has who searched and exported what
        audit = [json.loads(l) for l in run("audit", "--data", data).stdout.decode().splitlines()]
        actions = [a["action"] for a in audit]
        expect("export" in actions and actions.count("search") >= 2 * len(queries),
               "audit log: %s" % actions)
        expect(all("user" in a and "time_us" in a for a in audit), "audit entries lack who/when")
        # who: the operating system's user, not what the environment claims
        p = run("search", "--data", data, "testing", env=dict(os.environ, SUDO_USER="mallory"))
        last = json.loads(run("audit", "--data", data).stdout.decode().splitlines()[-2])
        expect(last["action"] == "search" and last["user"] == "root" and last["uid"] == 0,
               "audit user from the environment: %s" % last)
        # chained: seq numbers without a gap
        audit = [json.loads(l) for l in run("audit", "--data", data).stdout.decode().splitlines()]
        expect([a["seq"] for a in audit] == list(range(len(audit))), "audit seqs have gaps")

        # ---- the entry is written before any result: a reader that stops early
        # (| head) is audited all the same
        n0 = len(run("audit", "--data", data).stdout.splitlines())
        p = subprocess.Popen([EXE, "search", "--data", data, "source:import", "--json",
                              "--limit", "0"], stdout=subprocess.PIPE)
        p.stdout.readline()
        p.stdout.close()  # like `| head -1`
        p.wait(timeout=30)
        audit = [json.loads(l) for l in run("audit", "--data", data).stdout.decode().splitlines()]
        expect(len(audit) == n0 + 2 and audit[-2]["action"] == "search" and
               audit[-2]["query"] == "source:import", "search cut short was not audited: %s" % audit[-3:])

        # ---- exports and imports never follow symbolic links
        victim = os.path.join(work, "victim")
        with open(victim, "w") as f:
            f.write("untouched")
        first = sorted(set(ids.values()))[0]
        linked = os.path.join(work, "linked-dir")
        os.makedirs(linked)
        os.symlink(victim, os.path.join(linked, "%d.eml" % first))
        p = run("export", "--data", data, str(first), "--eml", linked, check=False)
        expect(p.returncode != 0 and b"symbolic link" in p.stderr, "export through a planted link: %s" % p.stderr)
        os.symlink(linked, os.path.join(work, "dir-link"))
        p = run("export", "--data", data, str(first), "--eml", os.path.join(work, "dir-link"), check=False)
        expect(p.returncode != 0, "export into a symlinked directory")
        os.symlink(victim, os.path.join(work, "mbox-link"))
        p = run("export", "--data", data, str(first), "--mbox", os.path.join(work, "mbox-link"), check=False)
        expect(p.returncode != 0, "export to a symlinked mbox")
        expect(open(victim).read() == "untouched", "an export wrote through a symbolic link")
        tree = os.path.join(work, "tree")
        os.makedirs(tree)
        secret = os.path.join(work, "secret.eml")
        with open(secret, "wb") as f:
            f.write(b"Subject: outside the tree ploughshare\r\n\r\nbody\r\n")
        os.symlink(secret, os.path.join(tree, "link.eml"))
        p = run("import", "--data", data, tree, check=False)
        expect(p.returncode != 0 and b"not followed" in p.stderr, "import followed a link: %s" % p.stderr)
        expect(not search(data, "ploughshare"), "import took a message through a symbolic link")

        # ---- a failed audit write refuses the query (here: audit-pending is not a
        # directory, for a reader beside a running server)

        # ---- reading while a server holds the store, and journaling to it
        srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                                *tls], stdout=subprocess.PIPE, text=True)
        addr = srv.stdout.readline().split()[2]
        try:
            pending = os.path.join(data, "audit-pending")
            shutil.rmtree(pending, ignore_errors=True)
            with open(pending, "w") as f:
                f.write("not a directory")
            p = run("search", "--data", data, "testing", check=False)
            expect(p.returncode == 1 and not p.stdout and b"audit log cannot be written" in p.stderr,
                   "search without an audit entry: rc %d, %d bytes shown" % (p.returncode, len(p.stdout)))
            os.unlink(pending)
            spool = os.path.join(work, "spool")
            msg = os.path.join(work, "m.eml")
            with open(msg, "wb") as f:
                f.write(b"From: gw@example.com\r\nTo: someone@example.org\r\n"
                        b"Subject: journaled zyxwvut\r\n\r\nbody\r\n")
            p = subprocess.run([EXE, "journal-send", "--to", addr, "--spool", spool, *gw,
                                "--rcpt", "someone@example.org", "--rule", "test.rule", msg],
                               capture_output=True)
            expect(p.returncode == 0, "journal-send: %s" % p.stderr)
            expect(archive_env.wait_indexed(EXE, data), "the index caught up with the server")
            hits = search(data, "zyxwvut rule:test.rule")
            expect(len(hits) == 1, "journaled message not found alongside the server: %s" % hits)
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=30)

        # ---- the spooling sender survives an archive outage
        door = Doorway()
        msg2 = os.path.join(work, "m2.eml")
        with open(msg2, "wb") as f:
            f.write(b"From: gw@example.com\r\nSubject: spooled qwertzu\r\n\r\nbody\r\n")
        sender = subprocess.Popen([EXE, "journal-send", "--to", door.addr, "--spool", spool, *gw, msg2],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def spooled():
            return [f for f in os.listdir(spool) if f.endswith(".rec")]
        # the archive is down: the record waits in the spool, the sender keeps trying
        expect(wait_until(lambda: len(spooled()) == 1, 30),
               "spool holds %d records during the outage" % len(spooled()))
        expect(sender.poll() is None, "the sender gave up during the outage")
        srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                                *tls], stdout=subprocess.PIPE, text=True)
        door.open_to(srv.stdout.readline().split()[2])
        try:
            so, se = sender.communicate(timeout=40)
            expect(sender.returncode == 0, "spooled send failed: %s" % se)
            expect(not [f for f in os.listdir(spool) if f.endswith(".rec")], "spool not emptied")
            expect(archive_env.wait_indexed(EXE, data), "the index caught up with the server")
            expect(len(search(data, "qwertzu")) == 1, "spooled message not archived")
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=30)
            door.close()
        v = json.loads(run("verify", "--data", data).stdout)
        expect(v["damaged"] == 0 and v["copies"] > 0 and v["checkpoints"] > 0, "final verify: %s" % v)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("all archive CLI checks passed")


if __name__ == "__main__":
    main()
