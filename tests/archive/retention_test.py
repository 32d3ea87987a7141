#!/usr/bin/env python3
"""Retention, legal hold and purge (docs/archive.md "Retention and legal hold"), end to
end through the program: messages journaled over TLS with different rules, domains and
senders; a retention file keeping finance mail for a year and everything else for two
seconds; legal holds by user and by query. purge deletes exactly the expired messages
no hold covers (an attachment one of them shares with a kept message survives), verify
passes afterwards, search and show no longer find them, lifting a hold lets its mail go
at the next purge, and every step is in the audit log.

usage: retention_test.py SLUICE_ARCHIVE"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

import archive_env
from archive_env import expect

EXE = os.path.abspath(sys.argv[1])


def attachment(seed):
    body = base64.encodebytes(bytes((seed * 7 + i * 13) % 256 for i in range(3000)))
    return body.replace(b"\n", b"\r\n")


def message(subject, part=None):
    head = b"From: x@example.org\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n" % (
        subject.encode(), subject.replace(" ", "-").encode())
    if part is None:
        return head + b"\r\n%s body\r\n" % subject.encode()
    return head + (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                   b"--b\r\nContent-Type: text/plain\r\n\r\n%s\r\n--b\r\n"
                   b"Content-Type: application/octet-stream; name=a.bin\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n" % subject.encode()
                   + part + b"--b--\r\n")


def run(*args):
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120)


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-retention-")
    pki = archive_env.setup(EXE, work)
    data = os.path.join(work, "data")
    shared, own = attachment(1), attachment(2)
    # subject -> (journal-send options, message)
    mail = {
        "ledger": (["--rule", "dlp.finance"], message("ledger", shared)),
        "budget": (["--rcpt", "bob@finance.example.com"], message("budget")),
        "lunch": (["--direction", "inbound"], message("lunch")),
        "party": (["--from", "carol@example.org"], message("party")),
        "merger talks": ([], message("merger talks")),
        "ledger copy": ([], message("ledger copy", shared)),
        "photos": ([], message("photos", own)),
    }
    srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                            *archive_env.serve_tls(pki)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        jaddr = srv.stdout.readline().split()[2]
        for subject, (opts, body) in mail.items():
            path = os.path.join(work, subject.replace(" ", "-") + ".eml")
            with open(path, "wb") as f:
                f.write(body)
            p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki),
                                "--source", "gw1", "--rcpt", "someone@example.net", *opts, path],
                               capture_output=True, text=True, timeout=60)
            expect(p.returncode == 0, "journaled %s %s" % (subject, p.stderr.strip()))
    finally:
        srv.terminate()
        srv.wait(timeout=30)

    def ids(query):
        p = run("search", "--data", data, query, "--json")
        return sorted(json.loads(l)["id"] for l in p.stdout.splitlines() if l.strip())
    doc = {s: ids('msgid:<%s@test>' % s.replace(" ", "-"))[0] for s in mail}

    rules = os.path.join(work, "retention")
    with open(rules, "w") as f:
        f.write("# finance: a year; the rest: two seconds\nkeep 1y rule:dlp.finance\n"
                "keep 1y domain:finance.example.com\nkeep 2s default\n")
    bad = os.path.join(work, "bad")
    with open(bad, "w") as f:
        f.write("keep 1y default\nkeep forever rule:x\n")
    p = run("purge", "--data", data, "--retention", bad)
    expect(p.returncode == 2 and "line 2: bad duration" in p.stderr,
           "a bad retention file is refused with its line (%s)" % p.stderr.strip())

    long = os.path.join(work, "long")
    with open(long, "w") as f:
        f.write("keep 1d default\n")
    p = run("purge", "--data", data, "--retention", long, "--dry-run")
    expect(p.returncode == 0 and "would purge" not in p.stdout,
           "nothing is past a day (%s)" % p.stdout.strip())
    p = run("purge", "--data", data, "--retention", os.devnull, "--dry-run")
    expect(p.returncode == 0 and "would purge" not in p.stdout,
           "without a rule everything is kept forever (%s)" % p.stdout.strip())
    time.sleep(2.5)
    for args in (["add", "carol", "--user", "carol@example.org"], ["add", "merger", "subject:merger"]):
        p = run("hold", "--data", data, *args)
        expect(p.returncode == 0, "hold %s (%s)" % (args[1], p.stderr.strip()))
    p = run("hold", "--data", data, "list")
    expect(p.returncode == 0 and p.stdout.startswith("carol\tfrom:carol@example.org OR "
                                                     "to:carol@example.org\t(by root)") and
           "merger\tsubject:merger" in p.stdout, "hold list: %r" % p.stdout)

    gone = sorted(doc[s] for s in ("lunch", "ledger copy", "photos"))
    p = run("purge", "--data", data, "--retention", rules, "--dry-run")
    would = sorted(int(l.split()[2]) for l in p.stdout.splitlines() if l.startswith("would purge"))
    expect(would == gone and "2 more kept by a legal hold" in p.stdout,
           "dry run: %s would go, the held two stay (%s)" % (would, p.stdout.strip()[-80:]))
    expect(ids("subject:lunch") == [doc["lunch"]], "a dry run deletes nothing")

    p = run("purge", "--data", data, "--retention", rules)
    expect(p.returncode == 0 and "purged 3 messages; 2 more" in p.stdout,
           "purge: %s %s" % (p.stdout.strip(), p.stderr.strip()))
    p = run("verify", "--data", data)
    v = json.loads(p.stdout) if p.stdout.strip() else {}
    expect(p.returncode == 0 and v.get("purged") == 3 and v.get("messages") == 4,
           "verify passes after the purge: %s" % p.stdout.strip())
    for s in ("lunch", "ledger copy", "photos"):
        expect(ids('msgid:<%s@test>' % s.replace(" ", "-")) == [], "%s is gone from search" % s)
        p = run("show", "--data", data, str(doc[s]))
        expect(p.returncode == 1 and "no message" in p.stderr, "show %s: no message" % s)
    for s in ("ledger", "budget", "party", "merger talks"):
        expect(ids('msgid:<%s@test>' % s.replace(" ", "-")) == [doc[s]], "%s is kept" % s)
    out = os.path.join(work, "out")
    p = run("export", "--data", data, str(doc["ledger"]), "--eml", out)
    with open(os.path.join(out, "%d.eml" % doc["ledger"]), "rb") as f:
        expect(p.returncode == 0 and f.read() == mail["ledger"][1],
               "the kept message's attachment, shared with a purged one, is intact")
    st = json.loads(run("stats", "--data", data, "--json").stdout)
    expect(st["index_state"] == "current", "the index is current after the purge: %s" % st["index_state"])

    p = run("hold", "--data", data, "remove", "carol")
    expect(p.returncode == 0, "hold carol lifted (%s)" % p.stderr.strip())
    p = run("purge", "--data", data, "--retention", rules)
    expect(p.returncode == 0 and "purged 1 messages; 1 more" in p.stdout and
           ids("subject:party") == [], "the next purge takes what the lifted hold kept (%s)" % p.stdout.strip())
    p = run("verify", "--data", data)
    expect(p.returncode == 0 and json.loads(p.stdout).get("purged") == 4,
           "verify passes after the second purge: %s" % p.stdout.strip())

    entries = [json.loads(l) for l in run("audit", "--data", data).stdout.splitlines() if l.strip()]
    acts = [e["action"] for e in entries]
    purges = [e for e in entries if e["action"] == "purge"]
    expect(acts.count("hold") == 2 and acts.count("unhold") == 1 and len(purges) == 2,
           "the audit log has the holds, the lifting and both purges: %s" % acts)
    expect(all(e["uid"] == os.getuid() for e in purges) and
           sorted(purges[0]["ids"]) == gone and purges[1]["ids"] == [doc["party"]],
           "each purge names what it deleted, and who")
    subprocess.run(["rm", "-rf", work])
    archive_env.finish("PASS: retention, legal hold and purge")


main()
