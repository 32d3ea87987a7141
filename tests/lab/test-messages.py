#!/usr/bin/python3
"""lab-messages — the lab's test messages (peers/mkmsg.py) get, from the shipped policy,
the verdicts the lab tests expect (mkmsg.EXPECTED), as `sluicectl rules test` computes
them for mail from the lab's client to bob@example.net. A policy change that moves one
shows here first, with the verdict, rather than as a lab test's unexpected SMTP reply."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import mkmsg  # noqa: E402

root = os.environ.get("SLUICE_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
build = os.environ.get("SLUICE_BUILD_ROOT", os.path.join(root, "build"))
policy = os.path.join(root, "docs", "examples", "policy.rules")

with tempfile.TemporaryDirectory() as d:
    files = []
    for kind in mkmsg.EXPECTED:
        path = os.path.join(d, f"{kind}.eml")
        with open(path, "wb") as f:
            f.write(mkmsg.build(kind, f"messages-{kind}"))
        files.append(path)
    r = subprocess.run([os.path.join(build, "control", "sluicectl"), "rules", "test", policy,
                        *files, "--json", "--mail-from", "alice@example.org",
                        "--rcpt", "bob@example.net", "--client-ip", "192.0.2.1",
                        "--helo", "client.example.org"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit(f"sluicectl rules test exited {r.returncode}: {r.stderr}")
    got = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        # the policy's own rules: the imported SpamAssassin ones (sa.*) are spam_agreement's
        got[os.path.basename(v["file"])[:-4]] = (v["verdict"], [x["id"] for x in v["rules"]
                                                                if not x["id"].startswith("sa.")])

failed = 0
for kind, want in mkmsg.EXPECTED.items():
    ok = got.get(kind) == want
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {kind:8} {got.get(kind)}" + ("" if ok else f"  want {want}"))
sys.exit(1 if failed else 0)
