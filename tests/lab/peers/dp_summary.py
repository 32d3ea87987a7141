#!/usr/bin/python3
"""A few readable lines from sluice-dp's telemetry: dp_summary.py < replies

Input: the JSON replies of dpdk-telemetry.py to /sluice/messages, /sluice/rules,
/sluice/flows, /sluice/ports, /sluice/drops and /sluice/protect (one per line, any order)."""
import json
import sys

t = {}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        t.update(json.loads(line))
m = t.get("/sluice/messages", {})
rules = t.get("/sluice/rules", {})
fl = t.get("/sluice/flows", {})
p = t.get("/sluice/ports", {})
drops = t.get("/sluice/drops", {})
prot = t.get("/sluice/protect", {})


def row(name, text):
    print(f"   {name:13} {text}")


row("messages", f"{m.get('total', 0)}: " + ", ".join(
    f"{m.get('verdict_' + v, 0)} {v}" for v in ("pass", "alert", "quarantine", "tempfail", "reject")))
row("enforced", f"{m.get('enforced_reject', 0)} rejected, {m.get('enforced_quarantine', 0)} "
    f"quarantined on the wire (the server was reset before the end of data)")
row("rules fired", ", ".join(f"{k} {v}" for k, v in sorted(rules.items())) or "none")
unins = sum(v for k, v in fl.items() if k.startswith("uninspected_"))
row("flows", f"{fl.get('created', 0)} SMTP flows, {unins} uninspected")
for side in ("outside", "inside"):
    row(f"port {side}", f"received {p.get(side + '_rx_packets', 0)} packets, sent "
        f"{p.get(side + '_tx_packets', 0)} ({p.get(side + '_injected', 0)} injected by sluice-dp)")
row("not forwarded", ", ".join(f"{k} {v}" for k, v in drops.items() if v) or "nothing")
row("journal", f"{m.get('journal_ok', 0)} journaled, {m.get('journal_skipped', 0)} not (rejected or refused by the server), {m.get('journal_failed', 0)} failed")
if prot:
    def by(kind):
        return ", ".join(f"{k[len(kind) + 1:]} {v}" for k, v in sorted(prot.items())
                         if k.startswith(kind + "_") and v) or "none"
    row("protection", f"{prot.get('admitted', 0)} connections admitted; refused: {by('refused')}")
    row("", f"sessions closed: {by('closed')}; bans: {by('banned')} ({prot.get('bans_active', 0)} running)")
