#!/usr/bin/python3
"""Power cuts that lose unsynced writes (issue 12). sluice-archive runs on powercutfs (a
FUSE layer that keeps every byte not yet fsynced in memory and drops it at a simulated
power cut, see powercutfs.c) while a gateway streams journal records to it over TLS.
At random moments the power is cut: the unsynced data is gone and the archive is killed
in the same instant. After >= 50 cuts, every record the archive acknowledged must be
stored exactly once and the store must verify (chains, checkpoints, messages).

SIGKILL alone would prove little: the page cache survives a killed process, so an
archive that never synced would pass. With --expect-loss the same test runs the archive
with fsync and fdatasync of its write-ahead log turned into no-ops (LD_PRELOAD=
libnosync.so: the WAL sync removed, every other sync kept) and must find acknowledged
records lost — the test can fail.

usage: powercut_test.py SLUICE_ARCHIVE POWERCUTFS LIBNOSYNC [--cuts N] [--expect-loss] [--seed S]"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_env  # noqa: E402
import journal_proto as jp  # noqa: E402

WINDOW = 16


def message(i):
    m = i if i % 7 else i // 2  # some messages journaled twice: blob dedup across cuts
    return ("From: user%d@example.com\r\nTo: peer@example.net\r\nSubject: power cut %d\r\n"
            "Message-ID: <cut-%d@example.com>\r\n\r\n%s\r\n" % (m % 31, m, m, "payload %d " % m * (1 + m % 40))).encode()


def body(i):
    return jp.payload(1700000000000000 + i, "gw1", message(i), rcpts=["peer@example.net"], direction=1)


def unfound(exe, data, acked):
    """Acknowledged messages a body-word search does not find (the index is written
    after the ACK, so a cut loses postings; the restart must read them back)."""
    out = subprocess.run([exe, "search", "--data", data, "payload", "--json", "--limit", "0"],
                         capture_output=True, text=True)
    found = {json.loads(line)["sha256"] for line in out.stdout.splitlines()}
    return len({hashlib.sha256(message(i)).hexdigest() for i in acked} - found)


class Rig:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.backing = os.path.join(work, "disk")
        self.mnt = os.path.join(work, "mnt")
        os.makedirs(self.backing)
        os.makedirs(self.mnt)
        self.data = os.path.join(self.mnt, "data")
        self.fs = self.srv = None
        self.log = open(os.path.join(work, "serve.log"), "w")

    def mount(self):
        self.fs = subprocess.Popen([self.args.fs, self.backing, self.mnt], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            if time.monotonic() > deadline or self.fs.poll() is not None:
                raise RuntimeError("powercutfs did not mount")
            time.sleep(0.01)

    def start(self, pki):
        env = dict(os.environ)
        if self.args.expect_loss:
            env["LD_PRELOAD"] = self.args.nosync
        self.srv = subprocess.Popen(
            [self.args.exe, "serve", "--data", self.data, "--journal-listen", "127.0.0.1:0",
             "--min-free", "0", *archive_env.serve_tls(pki)],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.srv.stdout.readline()
        if not line.startswith("listening journal "):
            self.srv.wait()
            return None
        return line.split()[2]

    def cut(self):
        """The power goes: unsynced data gone and the archive dead, together."""
        self.fs.send_signal(signal.SIGUSR1)
        try:
            os.stat(self.data)  # an operation, so the layer takes the cut now
        except OSError:
            pass
        line = self.fs.stdout.readline()
        self.srv.kill()
        self.srv.wait()
        if line.strip() != "cut":
            raise RuntimeError("powercutfs did not cut: %r" % line)
        self.unmount()

    def unmount(self):
        for attempt in range(50):
            p = subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True, text=True)
            if p.returncode == 0:
                break
            time.sleep(0.1)
        else:
            print("unmount: %s; lazily" % p.stderr.strip(), flush=True)
            subprocess.run(["fusermount3", "-u", "-z", self.mnt])
        try:
            self.fs.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fs.kill()
            self.fs.wait()

    def stop(self):
        self.srv.send_signal(signal.SIGTERM)
        self.srv.wait(timeout=60)


def sender(addr, tls, todo, acked, stop):
    """Send todo (record indexes) in windows until stopped or the connection breaks."""
    try:
        s = jp.connect(addr, timeout=20, tls=tls)
        while todo and not stop.is_set():
            batch = todo[:WINDOW]
            s.sendall(b"".join(jp.frame(jp.RECORD, body(i)) for i in batch))
            for i in batch:
                ftype, rid, _, reason = jp.read_reply(s)
                if ftype != jp.ACK or rid != jp.record_id(body(i)):
                    raise AssertionError("record %d: %s %s" % (i, ftype, reason))
                acked.add(i)
            del todo[:len(batch)]
        s.close()
    except (OSError, ValueError, ConnectionError):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("fs")
    ap.add_argument("nosync")
    ap.add_argument("--cuts", type=int, default=50)
    ap.add_argument("--expect-loss", action="store_true")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SLUICE_TEST_SEED") or time.time()))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print("seed %d (replay: SLUICE_TEST_SEED=%d), %d cuts%s" % (
        args.seed, args.seed, args.cuts, ", archive without fsync" if args.expect_loss else ""), flush=True)
    work = tempfile.mkdtemp(prefix="sluice-powercut-")
    rig = Rig(args, work)
    acked, next_i, cuts, t0 = set(), 0, 0, time.time()
    unopenable = None
    try:
        pki = archive_env.setup(args.exe, work)
        tls = jp.tls_context(pki, "gw1")
        todo = []
        while cuts < args.cuts:
            rig.mount()
            addr = rig.start(pki)
            if addr is None:
                unopenable = "the store does not open after cut %d" % cuts
                rig.unmount()
                break
            todo = [i for i in todo if i not in acked]
            while len(todo) < 400:
                todo.append(next_i)
                next_i += 1
            stop = threading.Event()
            th = threading.Thread(target=sender, args=(addr, tls, todo, acked, stop))
            th.start()
            time.sleep(rng.uniform(0.05, 0.4))
            rig.cut()
            stop.set()
            th.join()
            cuts += 1
        print("%d cuts in %.1f s, %d records acknowledged" % (cuts, time.time() - t0, len(acked)), flush=True)
        missing = damaged = None
        if unopenable is None:
            rig.mount()
            addr = rig.start(pki)
            if addr is None:
                unopenable = "the store does not open after the last cut"
            else:
                rig.stop()
                ids = os.path.join(work, "acked.txt")
                with open(ids, "w") as f:
                    f.write("".join(jp.record_id(body(i)).hex() + "\n" for i in sorted(acked)))
                v = subprocess.run([args.exe, "verify", "--data", rig.data, "--records", ids],
                                   capture_output=True, text=True)
                print(v.stdout.strip())
                r = json.loads(v.stdout) if v.stdout.strip() else {}
                missing, damaged = r.get("records_missing"), r.get("damaged")
                if v.returncode != 0:
                    print(v.stderr[-1500:])
                elif not args.expect_loss:
                    damaged = unfound(args.exe, rig.data, acked)
                    print("acknowledged messages a search does not find: %d" % damaged)
            rig.unmount()
        lost = unopenable or (missing or damaged)
        if args.expect_loss:
            if not lost:
                print("FAIL: without fsync the archive lost nothing over %d cuts: the test "
                      "could not tell" % cuts)
                sys.exit(1)
            print("as expected without the WAL sync: %s" % (
                unopenable or "%d acknowledged records missing, %d problems" % (missing, damaged)))
            return
        if lost:
            print("FAIL: %s" % (unopenable or "%d acknowledged records missing, %d problems" % (
                missing, damaged)))
            sys.exit(1)
        if len(acked) < 10 * args.cuts:
            print("FAIL: only %d records acknowledged over %d cuts: the test proved little" % (
                len(acked), cuts))
            sys.exit(1)
        print("power-cut test passed: every acknowledged record survived %d cuts" % cuts)
    finally:
        for p in (rig.srv, rig.fs):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if os.path.ismount(rig.mnt):
            subprocess.run(["fusermount3", "-u", "-z", rig.mnt])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
