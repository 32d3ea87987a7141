#!/usr/bin/python3
"""Hand sluice-dp's directory journal to the archive:
journal_forward.py JOURNAL_DIR ADDR:PORT SLUICE_ARCHIVE SPOOL_DIR

sluice-dp's directory sink writes NAME.json (envelope, addresses, verdict: a
verdicts.jsonl line) and NAME.eml for every message it passed or quarantined
(docs/dataplane.md, "Journal"). Each record not sent yet (no NAME.sent) goes to the
archive through `sluice-archive journal-send` with its envelope, verdict, matched rules
and direction, source "gateway"; journal-send spools it and returns once the archive has
acknowledged it durable. A record sent twice is stored once by the archive.
"""
import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    jdir, addr, exe, spool = sys.argv[1:]
    os.makedirs(spool, exist_ok=True)
    sent = 0
    for name in sorted(os.listdir(jdir)):
        if not name.endswith(".json"):
            continue
        base = os.path.join(jdir, name[:-5])
        if os.path.exists(base + ".sent"):
            continue
        with open(base + ".json") as f:
            meta = json.load(f)
        env, verdict = meta["envelope"], meta["verdict"]
        cmd = [exe, "journal-send", "--to", addr, "--spool", spool, "--source", "gateway",
               "--from", env.get("mail_from") or "", "--verdict", verdict["verdict"],
               "--direction", verdict.get("direction") or "unknown"]
        for r in env.get("rcpt", []):
            cmd += ["--rcpt", r]
        for rule in verdict.get("rules", []):
            cmd += ["--rule", rule["id"]]
        cmd.append(base + ".eml")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            sys.exit(f"journal-send {name}: exit {r.returncode}: {r.stderr.strip()}")
        open(base + ".sent", "w").close()
        sent += 1
    print(f"forwarded {sent} journal record(s) to {addr}")


if __name__ == "__main__":
    main()
