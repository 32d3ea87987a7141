#!/usr/bin/env python3
"""Key rotation (docs/archive.md "Keys"): `rekey` writes a new key file (new
key-encryption key, the same signing key) and adds a data key for new data. Afterwards
the old key file no longer opens the store, the new one opens everything stored before
and after (byte-exact exports), the checkpoints signed before and after verify, a second
rotation works the same, an existing target file is never overwritten, and each
rotation is audited.

usage: rekey_test.py SLUICE_ARCHIVE"""
import json
import os
import stat
import subprocess
import sys
import tempfile

import archive_env
from archive_env import expect

EXE = os.path.abspath(sys.argv[1])


def run(key, *args):
    env = dict(os.environ, SLUICE_ARCHIVE_KEY=key)
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, env=env)


def ingest(work, pki, data, key, name, body):
    path = os.path.join(work, name + ".eml")
    with open(path, "wb") as f:
        f.write(body)
    env = dict(os.environ, SLUICE_ARCHIVE_KEY=key)
    srv = subprocess.Popen([EXE, "serve", "--data", data, "--journal-listen", "127.0.0.1:0",
                            *archive_env.serve_tls(pki)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        jaddr = srv.stdout.readline().split()[2]
        p = subprocess.run([EXE, "journal-send", "--to", jaddr, *archive_env.client_tls(pki), path],
                           capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0 and "stored" in p.stdout, "journaled %s under %s" %
               (name, os.path.basename(key)))
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def exported(work, data, key, query, body):
    p = run(key, "search", "--data", data, query, "--json")
    if p.returncode != 0 or not p.stdout.strip():
        return False
    doc = json.loads(p.stdout.splitlines()[0])["id"]
    out = os.path.join(work, "out-%s" % os.path.basename(key))
    p = run(key, "export", "--data", data, str(doc), "--eml", out)
    with open(os.path.join(out, "%d.eml" % doc), "rb") as f:
        return p.returncode == 0 and f.read() == body


def main():
    work = tempfile.mkdtemp(prefix="sluice-archive-rekey-")
    pki = archive_env.setup(EXE, work)
    old = os.environ["SLUICE_ARCHIVE_KEY"]
    data = os.path.join(work, "data")
    a = b"From: a@example.org\r\nSubject: before rotation\r\n\r\nsealed under the first data key\r\n"
    b = b"From: b@example.org\r\nSubject: after rotation\r\n\r\nsealed under the second data key\r\n"
    ingest(work, pki, data, old, "a", a)

    new = os.path.join(work, "new.key")
    p = run(old, "rekey", "--data", data, "--new-key", new)
    expect(p.returncode == 0 and "2 data keys" in p.stdout, "rekey (%s%s)" % (p.stdout, p.stderr))
    expect(stat.S_IMODE(os.stat(new).st_mode) == 0o600, "the new key file is 0600")
    p = run(old, "search", "--data", data, "subject:rotation")
    expect(p.returncode == 1 and "does not open the store's data keys" in p.stderr,
           "the old key file no longer opens the store (%s)" % p.stderr.strip())
    expect(exported(work, data, new, "subject:before", a),
           "the new key file opens what was stored before, byte for byte")

    ingest(work, pki, data, new, "b", b)
    expect(exported(work, data, new, "subject:after", b), "and what is stored after")
    p = run(new, "verify", "--data", data)
    expect(p.returncode == 0, "verify: checkpoints signed before and after the rotation (%s)" %
           p.stdout.strip()[-200:])

    p = run(new, "rekey", "--data", data, "--new-key", old)
    expect(p.returncode == 1 and "File exists" in p.stderr,
           "an existing file is never the new key file (%s)" % p.stderr.strip())
    expect(exported(work, data, new, "subject:after", b), "and the store still opens with the current one")
    newer = os.path.join(work, "newer.key")
    p = run(new, "rekey", "--data", data, "--new-key", newer)
    expect(p.returncode == 0 and "3 data keys" in p.stdout, "a second rotation (%s)" % p.stdout.strip())
    expect(exported(work, data, newer, "subject:before", a) and
           exported(work, data, newer, "subject:after", b), "everything opens under the newest key file")
    p = run(newer, "verify", "--data", data)
    expect(p.returncode == 0, "verify after the second rotation")

    # a new signing key: the checkpoints signed so far verify through the handover
    signer = os.path.join(work, "signer.key")
    p = run(newer, "rekey", "--data", data, "--new-key", signer, "--new-signing-key")
    expect(p.returncode == 0, "rekey --new-signing-key (%s)" % p.stderr.strip())
    c = b"From: c@example.org\r\nSubject: after the new signer\r\n\r\nsigned by the second key\r\n"
    ingest(work, pki, data, signer, "c", c)
    expect(exported(work, data, signer, "subject:signer", c) and
           exported(work, data, signer, "subject:before", a), "the new key file opens old and new")
    p = run(signer, "verify", "--data", data)
    v = json.loads(p.stdout) if p.stdout.strip() else {}
    expect(p.returncode == 0 and v.get("damaged") == 0,
           "verify: checkpoints of the old signing key through the handover, and of the new (%s)" %
           p.stdout.strip()[-160:])
    p = run(newer, "search", "--data", data, "subject:signer")
    expect(p.returncode == 1 and p.stderr.strip(), "the old key file is refused (%s)" % p.stderr.strip())
    acts = [json.loads(l)["action"] for l in run(signer, "audit", "--data", data).stdout.splitlines() if l]
    expect(acts.count("rekey") == 3, "each rotation is audited (%s)" % acts)
    subprocess.run(["rm", "-rf", work])
    archive_env.finish("PASS: key rotation")


main()
