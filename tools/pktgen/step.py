#!/usr/bin/python3
"""One step of tools/bench pktgen's rate search, called by sweep.lua inside pktgen:

  step.py step|warmup RATE SECONDS TX_PKTS TX_BYTES RX_PKTS RX_BYTES MISSED

(pktgen's counters over the step: what port 0 sent into sluice-dp's outside port, what
port 1 got from its inside port). Reads sluice-dp's counters over its control socket
(BENCH_DP_SOCKET), takes the difference from the last step (BENCH_STATE), prints a row,
appends it as JSON to BENCH_RESULTS and writes "loss" or "clean" to PKTGEN_VERDICT.

Lost: sent by pktgen but never received by sluice-dp, dropped by sluice-dp for want of
room (tx_full, no_mbuf), missed by either side's receive queue, or sent by sluice-dp
but not received by pktgen. The dataplane's deliberate drops (policy, normalization) are
reported by reason and are not loss.

The control run forwards with dpdk-testpmd (io mode) instead: its counters come from DPDK's
telemetry socket (BENCH_TELEMETRY), and what it received but did not transmit is tx_full
(io forwarding drops nothing else)."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "lab", "peers"))
import dpctl  # noqa: E402  (the documented control protocol's client)

CAPACITY = ("tx_full", "no_mbuf")


def testpmd_snapshot(path):
    """testpmd's port counters in the shape of sluice-dp's stats (outside: port 0)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        s.recv(1024)  # the greeting

        def port(pid):
            s.send(f"/ethdev/stats,{pid}".encode())
            st = json.loads(s.recv(16384))["/ethdev/stats"]
            if not st:
                raise SystemExit(f"step.py: testpmd has no port {pid}")
            return {"rx_packets": st["ipackets"], "rx_bytes": st["ibytes"],
                    "tx_packets": st["opackets"], "tx_bytes": st["obytes"], "rx_nombuf": st["rx_nombuf"]}
        out, inside = port(0), port(1)
    not_sent = out["rx_packets"] - inside["tx_packets"] + inside["rx_packets"] - out["tx_packets"]
    return {"ports": {"outside": out, "inside": inside},
            "drops": {"tx_full": not_sent, "no_mbuf": out["rx_nombuf"] + inside["rx_nombuf"]},
            "messages": {"total": 0}, "verdicts": {}, "flows": {"created": 0}}


def snapshot():
    if os.environ.get("BENCH_TELEMETRY"):
        return testpmd_snapshot(os.environ["BENCH_TELEMETRY"])
    ans = dpctl.ask(os.environ["BENCH_DP_SOCKET"], {"op": "stats"})
    if not ans.get("ok"):
        raise SystemExit(f"step.py: sluice-dp's stats: {ans.get('error')}")
    return ans["stats"]


def delta(now, before):
    if isinstance(now, dict):
        return {k: delta(v, (before or {}).get(k)) for k, v in now.items()}
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return now - (before if isinstance(before, (int, float)) else 0)
    return now


def main():
    label, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    tx, tx_bytes, rx, rx_bytes, missed = (int(x) for x in sys.argv[4:9])
    state = os.environ["BENCH_STATE"]
    now = snapshot()
    before = json.load(open(state)) if os.path.exists(state) else {}
    with open(state, "w") as f:
        json.dump(now, f)
    d = delta(now, before)
    out, inside = d["ports"]["outside"], d["ports"]["inside"]
    drops = {k: v for k, v in d["drops"].items() if isinstance(v, int) and v}
    not_received = max(0, tx - out["rx_packets"])
    not_delivered = max(0, inside["tx_packets"] - rx)
    capacity = sum(drops.get(k, 0) for k in CAPACITY)
    lost = not_received + not_delivered + capacity + missed
    causes = {k: v for k, v in (("not received by sluice-dp", not_received),
                                ("sent by sluice-dp, not received by pktgen", not_delivered),
                                ("receive queue missed", missed)) if v}
    causes.update({k: drops[k] for k in CAPACITY if drops.get(k)})
    row = {
        "mode": os.environ.get("BENCH_MODE", "?"), "warmup": label == "warmup", "rate_pct": rate, "seconds": seconds,
        "offered_mpps": tx / seconds / 1e6, "offered_gbps": out["rx_bytes"] * 8 / seconds / 1e9,
        "forwarded_mpps": rx / seconds / 1e6, "forwarded_gbps": inside["tx_bytes"] * 8 / seconds / 1e9,
        "sent": tx, "received": rx, "lost": lost, "loss_causes": causes,
        "deliberate_drops": {k: v for k, v in drops.items() if k not in CAPACITY},
        "injected": out.get("injected", 0) + inside.get("injected", 0),
        "messages": d["messages"]["total"], "verdicts": {k: v for k, v in d["verdicts"].items() if v},
        "flows_created": d["flows"]["created"],
    }
    with open(os.environ["BENCH_RESULTS"], "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {row['mode']:8} rate {rate:6.2f} %  offered {row['offered_mpps']:6.3f} Mpps "
          f"{row['offered_gbps']:6.2f} Gbit/s  forwarded {row['forwarded_mpps']:6.3f} Mpps "
          f"{row['forwarded_gbps']:6.2f} Gbit/s  lost {lost}"
          + (f" ({', '.join(f'{k} {v}' for k, v in causes.items())})" if causes else ""),
          file=sys.stderr, flush=True)
    with open(os.environ["PKTGEN_VERDICT"], "w") as f:
        f.write("loss\n" if lost else "clean\n")


if __name__ == "__main__":
    main()
