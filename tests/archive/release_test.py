#!/usr/bin/env python3
"""Quarantine release (docs/archive.md "Quarantine release") against a scripted SMTP
relay: `quarantine` lists what a gateway held back and nothing else; `release` hands a
copy to the relay with its envelope and its exact bytes (dot-stuffing undone by the
relay gives the stored message back), audits the intent before sending and the outcome
after; a relay that refuses a recipient, a relay that is not there, a message that was
never quarantined and an ambiguous message are refused with a reason. The real-Postfix
release is in the lab test lab-archive.

usage: release_test.py SLUICE_ARCHIVE"""
import json
import os
import socket
import subprocess
import sys
import tempfile

import archive_env
from archive_env import expect
from smtp_relay import Relay

EXE = os.path.abspath(sys.argv[1])

# Lines that start with dots, a CRLF body, an 8-bit byte: what dot-stuffing and a
# careless relay client would change.
HELD = (b"From: mallory@example.org\r\nTo: bob@example.net\r\nSubject: invoice 4471\r\n"
        b"Message-ID: <held-1@example.org>\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
        b"card 4111 1111 1111 1111 \xe2\x82\xac\r\n")
CLEAN = b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: lunch\r\n\r\nnoon?\r\n"


def run(*args):
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)


def audit_actions(data):
    p = run("audit", "--data", data)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-release-")
    pki = archive_env.setup(EXE, work, peers=("gw1", "mail1", "relay1"))
    data = os.path.join(work, "data")
    files = {}
    for name, body in (("held", HELD), ("clean", CLEAN)):
        files[name] = os.path.join(work, name + ".eml")
        with open(files[name], "wb") as f:
            f.write(body)
    srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                            *archive_env.serve_tls(pki)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        jaddr = srv.stdout.readline().split()[2]
        send = [EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki, "gw1"),
                "--source", "gw1", "--from", "mallory@example.org"]
        for args in (["--rcpt", "bob@example.net", "--rcpt", "carol@example.net",
                      "--rule", "dlp.card", "--verdict", "quarantine", files["held"]],
                     ["--rcpt", "bob@example.net", files["clean"]]):
            p = subprocess.run(send + args, capture_output=True, text=True, timeout=60)
            expect(p.returncode == 0, "journal-send %s: %s" % (args[-1], p.stderr.strip()))
    finally:
        srv.terminate()
        srv.wait(timeout=30)

    def doc_id(query):
        p = run("search", "--data", data, query, "--json")
        return json.loads(p.stdout.splitlines()[0])["id"]
    held, clean = doc_id("subject:invoice"), doc_id("subject:lunch")

    p = run("quarantine", "--data", data, "--json")
    listed = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    expect(p.returncode == 0 and [e["id"] for e in listed] == [held],
           "quarantine lists only the held message: %s" % listed)
    expect(listed and listed[0]["rcpt"] == ["bob@example.net", "carol@example.net"] and
           listed[0]["rules"] == ["dlp.card"] and listed[0]["peer"] == "gw1",
           "with its envelope, rules and the authenticated gateway")

    relay = Relay()
    relay_plain = Relay()
    p = run("release", "--data", data, "--relay", relay.addr, str(held))
    expect(p.returncode == 0 and p.stdout.startswith("released %d " % held) and
           "queued as R1" in p.stdout, "release: the relay took it (%s%s)" % (p.stdout, p.stderr))
    got = relay.got[0] if relay.got else {}
    expect(got.get("from") == "mallory@example.org" and
           got.get("rcpt") == ["bob@example.net", "carol@example.net"],
           "the original envelope: %s" % {k: v for k, v in got.items() if k != "data"})
    expect(got.get("data") == HELD, "the relay received the stored bytes exactly")
    entries = audit_actions(data)
    acts = [e["action"] for e in entries]
    expect(acts[-3:-1] == ["release", "released"],
           "audit: the intent, then the outcome (%s)" % acts[-4:])
    last = entries[-2] if len(entries) > 1 else {}
    expect(last.get("ids") == [held] and last.get("relay") == relay.addr and
           "queued as R1" in last.get("reply", "") and last.get("uid") == os.getuid(),
           "the outcome names the message, the relay, its answer and the OS user")

    p = run("quarantine", "--data", data, "--json")
    expect([json.loads(l)["released"] for l in p.stdout.splitlines() if l.strip()] == [1],
           "quarantine says it was released once")
    p = run("release", "--data", data, "--relay", relay.addr, "--rcpt", "audit@example.net",
            str(held))
    expect(p.returncode == 1 and "released before" in p.stderr and len(relay.got) == 1,
           "a second release is refused (%s)" % p.stderr.strip())
    p = run("release", "--data", data, "--relay", relay.addr, "--rcpt", "audit@example.net",
            "--again", str(held))
    expect(p.returncode == 0 and relay.got[-1]["rcpt"] == ["audit@example.net"],
           "--again with --rcpt sends it to another recipient")
    relay.close()

    refusing = Relay(refuse=["carol@example.net"])
    p = run("release", "--data", data, "--relay", refusing.addr, "--again", str(held))
    expect(p.returncode == 1 and "550 5.1.1" in p.stderr and not refusing.got,
           "a relay that refuses one recipient: nothing sent, exit 1 (%s)" % p.stderr.strip())
    expect(audit_actions(data)[-2]["action"] == "release-failed", "and the failure is audited")
    refusing.close()

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_addr = "127.0.0.1:%d" % dead.getsockname()[1]
    dead.close()
    p = run("release", "--data", data, "--relay", dead_addr, "--timeout", "5", "--again", str(held))
    expect(p.returncode == 1 and "connect" in p.stderr, "no relay: exit 1 (%s)" % p.stderr.strip())

    p = run("release", "--data", data, "--relay", dead_addr, str(clean))
    expect(p.returncode == 1 and "no quarantined copy" in p.stderr,
           "a message never quarantined is not released (%s)" % p.stderr.strip())
    p = run("release", "--data", data, str(held))
    expect(p.returncode == 2, "release without --relay: usage")

    # STARTTLS to the relay: its certificate checked against the CA and its name
    tls_relay = Relay(tls=(os.path.join(pki, "relay1.crt"), os.path.join(pki, "relay1.key")))
    ca = ["--relay-tls-ca", os.path.join(pki, "ca.crt")]
    p = run("release", "--data", data, "--relay", tls_relay.addr, *ca, "--relay-tls-name", "relay2",
            "--again", str(held))
    expect(p.returncode == 1 and "certificate" in p.stderr and not tls_relay.got,
           "a relay whose certificate names another host: nothing sent (%s)" % p.stderr.strip())
    p = run("release", "--data", data, "--relay", tls_relay.addr, *ca, "--relay-tls-name", "relay1",
            "--again", str(held))
    got = tls_relay.got[-1] if tls_relay.got else {}
    expect(p.returncode == 0 and got.get("tls") and got.get("data") == HELD,
           "over STARTTLS to the named relay: exact bytes (%s)" % p.stderr.strip())
    p = run("release", "--data", data, "--relay", relay_plain.addr, *ca, "--again", str(held))
    expect(p.returncode == 1 and "STARTTLS refused" in p.stderr and not relay_plain.got,
           "a relay without STARTTLS when TLS is asked for: nothing sent (%s)" % p.stderr.strip())
    tls_relay.close()
    relay_plain.close()

    p = run("verify", "--data", data)
    expect(p.returncode == 0, "verify passes after the releases (%s)" % p.stdout.strip()[-300:])
    subprocess.run(["rm", "-rf", work])
    archive_env.finish("PASS: quarantine list and release")


main()
