#!/usr/bin/python3
"""The /sluice/ telemetry commands of a running sluice-dp, read with Debian's
dpdk-telemetry.py (the way an operator reads them): after a capture went through in
enforce mode, the counters say what happened (packets per port, flows, messages,
verdicts, rules, drops, memory)."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402

CAP = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek', 'captures', 'zeek__smtp.pcap')
POLICY = os.path.join(dputil.SOURCE, 'docs', 'examples', 'policy.rules')


def query(prefix, cmds):
    """dpdk-telemetry.py reads commands on stdin and prints one JSON object each."""
    r = subprocess.run(['/usr/bin/python3', '/usr/bin/dpdk-telemetry.py', '-f', prefix],
                       input='\n'.join(cmds) + '\n', capture_output=True, text=True, timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        line = line.strip().lstrip('-> ').strip()
        if line.startswith('{'):
            out.update(json.loads(line))
    return out


def main():
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, 'empty.pcap')
        pcaplib.write(empty, [])
        conf = os.path.join(d, 'dp.conf')
        # both directions come in on port 0: no check of the ingress port
        open(conf, 'w').write('[ports]\ndirection_check = no\n[flows]\nverify_checksums = no\n')
        eal = dputil.eal('tel', [f'net_pcap0,rx_pcap={CAP},tx_pcap={d}/o1.pcap',
                                 f'net_pcap1,rx_pcap={empty},tx_pcap={d}/o0.pcap'])
        prefix = eal[eal.index('--file-prefix') + 1]
        p = subprocess.Popen([dputil.DP] + eal + ['--', '--config', conf, '--rules', POLICY,
                                                  '--duration', '20'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            assert 'sluice-dp: ready' in line, line + p.stderr.read()
            time.sleep(1)
            cmds = ['/sluice/info', '/sluice/ports', '/sluice/flows', '/sluice/messages',
                    '/sluice/rules', '/sluice/drops', '/sluice/memory']
            t = query(prefix, cmds)
        finally:
            p.terminate()
            p.wait(timeout=30)
        for c in cmds:
            assert c in t, f'{c} missing from {sorted(t)}'
        info, ports, flows = t['/sluice/info'], t['/sluice/ports'], t['/sluice/flows']
        msgs, drops, mem = t['/sluice/messages'], t['/sluice/drops'], t['/sluice/memory']
        assert info['mode'] == 'enforce' and info['workers'] == 1, info
        frames = pcaplib.read(CAP)
        assert ports['outside_rx_packets'] == len(frames), ports
        assert ports['outside_rx_bytes'] == sum(len(f) for _, _, f in frames), ports
        assert ports['inside_tx_packets'] == len(frames), ports
        assert ports['outside_rx_packets_per_worker'] == [len(frames)], ports
        # the closed flow stays in the table for closed_timeout (10 s)
        assert flows['created'] == 2 and flows['closed'] == 1 and flows['active'] == 2, flows
        assert msgs['total'] == 2 and msgs['verdict_pass'] == 2, msgs
        assert sum(drops.values()) == 0, drops
        assert mem['limit_bytes'] == 512 << 20 and mem['flows_bytes'] > 0, mem
        assert isinstance(t['/sluice/rules'], dict)
    print('telemetry: every /sluice/ command answers and agrees with the capture')


if __name__ == '__main__':
    main()
