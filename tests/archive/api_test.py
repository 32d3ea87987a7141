#!/usr/bin/env python3
"""The auditor API (docs/archive.md "Auditor API") over real HTTPS: messages journaled
for three domains, then `sluice-archive api` with a token file of three users — one
scoped to a domain, one to a mailbox, one to everything. A request without a token or
with a wrong one is refused; a scoped user finds, shows and exports only their mail
(another user's message answers 404, like a missing one; a recipient whose local part
spells their domain does not fool the scope); exports are byte-exact; every answered
request is in the chained audit log with the authenticated user, and verify passes.

usage: api_test.py SLUICE_ARCHIVE"""
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

import archive_env
from archive_env import expect
from smtp_relay import Relay

EXE = os.path.abspath(sys.argv[1])

MAIL = {  # subject -> (envelope sender, recipient)
    "alpha inbound": ("ext@outside.example", "ann@alpha.example"),
    "alpha outbound": ("ann@sales.alpha.example", "ext@outside.example"),
    "beta note": ("ext@outside.example", "bob@beta.example"),
    "beta other": ("ext@outside.example", "carl@beta.example"),
    "local part trick": ("ext@outside.example", "alpha.example@evil.example"),
}
TOKENS = {"alice": "tok-alice-0123456789", "bob": "tok-bob-0123456789", "auditor": "tok-aud-0123456789"}


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-api-")
    pki = archive_env.setup(EXE, work)
    data = os.path.join(work, "data")
    srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                            *archive_env.serve_tls(pki)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    raw = {}
    try:
        jaddr = srv.stdout.readline().split()[2]
        # a message a gateway quarantined, for alpha (its body lacks the search word)
        held = os.path.join(work, "held.eml")
        raw["held"] = (b"From: ext@outside.example\r\nTo: ann@alpha.example\r\nSubject: held "
                       b"back\r\n\r\n.a dot line\r\nwire the money\r\n")
        with open(held, "wb") as f:
            f.write(raw["held"])
        p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki),
                            "--from", "ext@outside.example", "--rcpt", "ann@alpha.example",
                            "--verdict", "quarantine", "--rule", "fraud", held],
                           capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0, "journaled a quarantined message")
        for subject, (sender, rcpt) in MAIL.items():
            raw[subject] = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@t>\r\n\r\n"
                            "quarterly numbers\r\n" % (sender, rcpt, subject,
                                                       subject.replace(" ", "-"))).encode()
            path = os.path.join(work, subject.replace(" ", "-") + ".eml")
            with open(path, "wb") as f:
                f.write(raw[subject])
            p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki),
                                "--from", sender, "--rcpt", rcpt, path],
                               capture_output=True, text=True, timeout=60)
            expect(p.returncode == 0, "journaled %s" % subject)
    finally:
        srv.terminate()
        srv.wait(timeout=30)

    tokens = os.path.join(work, "tokens")
    with open(tokens, "w") as f:
        scopes = {"alice": "domain:alpha.example release", "bob": "mailbox:bob@beta.example",
                  "auditor": "all"}
        for user, tok in TOKENS.items():
            f.write("%s %s %s\n" % (hashlib.sha256(tok.encode()).hexdigest(), user, scopes[user]))
    os.chmod(tokens, 0o644)
    cert = os.path.join(pki, archive_env.ARCHIVE_NAME)
    relay = Relay()
    args = ["api", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", cert + ".crt",
            "--tls-key", cert + ".key", "--tokens", tokens, "--relay", relay.addr]
    p = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=30)
    expect(p.returncode == 1 and "readable by group or others" in p.stderr,
           "a token file others can read is refused (%s)" % p.stderr.strip())
    os.chmod(tokens, 0o600)
    api = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        host, port = api.stdout.readline().split()[2].rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        requests = 0

        def get(path, user=None, token=None, method="GET"):
            # the archive's certificate names archive.test, not the loopback address
            c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
            c.sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=30),
                                     server_hostname=archive_env.ARCHIVE_NAME)
            headers = {}
            if user or token:
                headers["Authorization"] = "Bearer " + (token or TOKENS[user])
            c.request(method, path, headers=headers)
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, body

        def search(user, q):
            st, body = get("/search?q=" + urllib.parse.quote(q), user)
            return st, sorted(json.loads(l)["subject"] for l in body.decode().splitlines() if l)

        everything = "quarterly"
        st, _ = get("/search?q=quarterly")
        expect(st == 401, "no token: 401 (%s)" % st)
        st, _ = get("/search?q=quarterly", token="tok-nobody")
        expect(st == 401, "a wrong token: 401 (%s)" % st)
        st, subjects = search("auditor", everything)
        requests += 1
        expect(st == 200 and subjects == sorted(MAIL), "the auditor sees everything: %s" % subjects)
        st, subjects = search("alice", everything)
        requests += 1
        expect(st == 200 and subjects == ["alpha inbound", "alpha outbound"],
               "alice (domain alpha.example, and below it) sees only her domain: %s" % subjects)
        st, subjects = search("bob", everything)
        requests += 1
        expect(st == 200 and subjects == ["beta note"], "bob (one mailbox) sees only his: %s" % subjects)

        ids = {}
        st, body = get("/search?q=quarterly&limit=100", "auditor")
        requests += 1
        for l in body.decode().splitlines():
            ids[json.loads(l)["subject"]] = json.loads(l)["id"]
        st, body = get("/export/%d" % ids["alpha inbound"], "alice")
        requests += 1
        expect(st == 200 and body == raw["alpha inbound"], "alice exports her message byte for byte")
        st, body = get("/show/%d" % ids["alpha outbound"], "alice")
        requests += 1
        shown = json.loads(body) if st == 200 else {}
        expect(shown.get("subject") == "alpha outbound" and
               shown.get("copy_list", [{}])[0].get("mail_from") == "ann@sales.alpha.example",
               "alice shows her message with its copies: %s" % body[:200])
        for what in ("beta note", "local part trick"):
            for kind in ("show", "export"):
                st, _ = get("/%s/%d" % (kind, ids[what]), "alice")
                expect(st == 404, "alice %s %s: 404 (%s)" % (kind, what, st))
        st, _ = get("/show/999999", "alice")
        expect(st == 404, "a missing message: the same 404")
        st, _ = get("/search?q=quarterly", "alice", method="POST")
        expect(st == 405, "POST: 405 (%s)" % st)
        st, body = get("/search?q=" + urllib.parse.quote("nope:x"), "alice")
        expect(st == 400, "a bad query: 400 (%s %s)" % (st, body[:80]))

        # release: a right of the token, within the scope, once
        st, body = get("/search?q=" + urllib.parse.quote("subject:held"), "auditor")
        requests += 1
        held_id = json.loads(body.decode().splitlines()[0])["id"]
        st, _ = get("/release/%d" % held_id, "bob", method="POST")
        expect(st == 403 and not relay.got, "bob may not release: 403 (%s)" % st)
        st, body = get("/release/%d" % held_id, "alice", method="POST")
        expect(st == 200 and json.loads(body).get("released") == held_id and len(relay.got) == 1 and
               relay.got[0]["data"] == raw["held"] and relay.got[0]["rcpt"] == ["ann@alpha.example"],
               "alice releases her quarantined message: the relay has its exact bytes (%s %s)" %
               (st, body[:120]))
        st, _ = get("/release/%d" % held_id, "alice", method="POST")
        expect(st == 409 and len(relay.got) == 1, "a second release: 409 (%s)" % st)
        st, _ = get("/release/%d?again=1" % held_id, "alice", method="POST")
        expect(st == 200 and len(relay.got) == 2, "again=1 sends it once more (%s)" % st)
        st, _ = get("/release/%d" % ids["alpha inbound"], "alice", method="POST")
        expect(st == 409, "a message never quarantined: 409 (%s)" % st)
        st, _ = get("/release/%d" % ids["beta note"], "alice", method="POST")
        expect(st == 404 and len(relay.got) == 2, "another domain's message: 404 (%s)" % st)
    finally:
        api.terminate()
        api.wait(timeout=30)
        err = api.stderr.read()
    expect("no valid token" in err, "the refused requests are logged")

    entries = [json.loads(l) for l in subprocess.run([EXE, "audit", "--data", data], capture_output=True,
                                                     text=True).stdout.splitlines() if l.strip()]
    api_entries = [e for e in entries if e["action"].startswith("api-") and e["action"] != "api-start"]
    refused = [e for e in api_entries if e["action"] == "api-refused"]
    expect(len(api_entries) - len(refused) == requests, "every answered request is audited: %d of %d" %
           (len(api_entries) - len(refused), requests))
    expect(sorted((e["api_user"], e["status"]) for e in refused) == [("alice", 400), ("alice", 404),
           ("alice", 404), ("alice", 404), ("alice", 404), ("alice", 404), ("alice", 404),
           ("alice", 405), ("alice", 409), ("alice", 409), ("bob", 403)],
           "and every refused one of an authenticated user, probes for others' mail too: %s" %
           [(e["api_user"], e["status"], e["path"]) for e in refused])
    released = [e for e in entries if e["action"] == "released"]
    expect([(e.get("api_user"), e["ids"]) for e in released] == [("alice", [held_id])] * 2,
           "both releases are audited under alice's name: %s" % released)
    alice = [e for e in api_entries if e.get("api_user") == "alice"]
    expect([e["action"] for e in alice if e["action"] != "api-refused"] ==
           ["api-search", "api-export", "api-show"] and
           alice[0]["results"] == 2 and alice[1]["ids"] == [ids["alpha inbound"]],
           "alice's requests are audited under her name, with what she saw: %s" % alice)
    p = subprocess.run([EXE, "verify", "--data", data], capture_output=True, text=True)
    expect(p.returncode == 0, "verify passes (%s)" % p.stdout.strip()[-200:])

    # beside a running server: the API reads a secondary that catches up before each
    # request, and its audit entries reach the chain through the server
    srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                            *archive_env.serve_tls(pki)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    api = None
    try:
        jaddr = srv.stdout.readline().split()[2]
        api = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        host, port = api.stdout.readline().split()[2].rsplit(":", 1)
        late = os.path.join(work, "late.eml")
        with open(late, "wb") as f:
            f.write(b"From: ext@outside.example\r\nTo: ann@alpha.example\r\nSubject: late "
                    b"arrival\r\n\r\nquarterly numbers\r\n")
        p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki),
                            "--from", "ext@outside.example", "--rcpt", "ann@alpha.example", late],
                           capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0, "a message arrives while the API runs")
        expect(archive_env.wait_indexed(EXE, data), "the index caught up with the server")
        st, subjects = search("alice", everything)
        expect(st == 200 and subjects == ["alpha inbound", "alpha outbound", "late arrival"],
               "beside the server, alice finds what it stored since the API started: %s" % subjects)
    finally:
        if api:
            api.terminate()
            api.wait(timeout=30)
        srv.terminate()
        srv.wait(timeout=30)
    entries = [json.loads(l) for l in subprocess.run([EXE, "audit", "--data", data], capture_output=True,
                                                     text=True).stdout.splitlines() if l.strip()]
    # a reader's entries are chained by the server when idle, or by the next writer to open
    late_search = [e for e in entries if e["action"] == "api-search" and e.get("results") == 3]
    expect(len(late_search) == 1 and late_search[0]["api_user"] == "alice",
           "that request is in the chained audit log too")
    p = subprocess.run([EXE, "verify", "--data", data], capture_output=True, text=True)
    expect(p.returncode == 0, "verify passes (%s)" % p.stdout.strip()[-200:])
    subprocess.run(["rm", "-rf", work])
    archive_env.finish("PASS: auditor API")


main()
