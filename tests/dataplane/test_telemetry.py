#!/usr/bin/python3
"""The /sluice/ telemetry commands of a running sluice-dp, read with Debian's
dpdk-telemetry.py (the way an operator reads them): after a capture went through in
enforce mode, the counters say what happened (packets per port, flows, messages,
verdicts, rules, drops, memory). The test waits until the capture has gone through
(polling the counters), then reads them once more and checks every value. The same
counters through the control socket's `stats` (docs/control.md, asked with the lab's
client written from that document) agree, requests without "req" or that are not a JSON
object are answered with req 0, and sluice-dp exits cleanly after answering (a `stats`
that crashed it was first seen only in the lab)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402
from dputil import check  # noqa: E402

sys.path.insert(0, os.path.join(dputil.SOURCE, 'tests', 'lab', 'peers'))
import dpctl  # noqa: E402

CAP = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek', 'captures', 'zeek__smtp.pcap')
POLICY = os.path.join(dputil.SOURCE, 'docs', 'examples', 'policy.rules')
CMDS = ['/sluice/info', '/sluice/ports', '/sluice/flows', '/sluice/messages',
        '/sluice/rules', '/sluice/drops', '/sluice/memory', '/sluice/protect',
        '/sluice/stages']


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
    frames = pcaplib.read(CAP)
    t = {}

    def through_and_read(tel):
        """The capture is through (both messages ended, one flow closed, nothing moving
        any more): read the counters as an operator does."""
        m, f = tel.query('/sluice/messages'), tel.query('/sluice/flows')
        p = tel.query('/sluice/ports')
        if not (p['outside_rx_packets'] == len(frames) and m['total'] >= 2 and f['closed'] >= 1
                and dputil.settled(tel)):
            return False
        t.update(query(prefix, CMDS))
        try:
            t['stats'] = dpctl.ask(sock, {'op': 'stats', 'req': 1}, timeout=10)
            # requests without "req" are answered with req 0 (its JSON value once leaked;
            # run this test on a sluice-dp under LeakSanitizer to see it)
            t['no_req'] = [dpctl.ask(sock, {'op': 'hello'}, timeout=10) for _ in range(20)]
            t['not_object'] = dpctl.ask(sock, ['hello'], timeout=10)
        except OSError as e:  # the connection closed: sluice-dp died answering
            t['stats'] = {'client_error': str(e)}
        return True

    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, 'empty.pcap')
        pcaplib.write(empty, [])
        conf, sock = os.path.join(d, 'dp.conf'), os.path.join(d, 'dp.sock')
        # both directions come in on port 0: no check of the ingress port; closed flows
        # stay in the table long past the test (the default is 10 s)
        open(conf, 'w').write('[ports]\ndirection_check = no\n'
                              '[flows]\nverify_checksums = no\nclosed_timeout = 600s\n'
                              f'[control]\nsocket = {sock}\n')
        eal = dputil.eal('tel', [f'net_pcap0,rx_pcap={CAP},tx_pcap={d}/o1.pcap',
                                 f'net_pcap1,rx_pcap={empty},tx_pcap={d}/o0.pcap'])
        prefix = eal[eal.index('--file-prefix') + 1]
        rc, out, err, problem = dputil.run_until(
            eal, ['--config', conf, '--rules', POLICY], through_and_read,
            'the capture through sluice-dp')
        check(problem is None, f'{problem}\n{out}{err}')
        check(rc == 0, f'exit {rc}: {err}\ncontrol stats: {t.get("stats", "not asked")}')
        for c in CMDS:
            check(c in t, f'{c} missing from {sorted(t)}')
        info, ports, flows = t['/sluice/info'], t['/sluice/ports'], t['/sluice/flows']
        msgs, drops, mem = t['/sluice/messages'], t['/sluice/drops'], t['/sluice/memory']
        check(info['mode'] == 'enforce' and info['workers'] == 1, info)
        check(ports['outside_rx_packets'] == len(frames), ports)
        check(ports['outside_rx_bytes'] == sum(len(f) for _, _, f in frames), ports)
        check(ports['inside_tx_packets'] == len(frames), ports)
        check(ports['outside_rx_packets_per_worker'] == [len(frames)], ports)
        check(flows['created'] == 2 and flows['closed'] == 1 and flows['active'] == 2, flows)
        check(msgs['total'] == 2 and msgs['verdict_pass'] == 2, msgs)
        check(sum(drops.values()) == 0, drops)
        check(mem['limit_bytes'] == 512 << 20 and mem['flows_bytes'] > 0, mem)
        check(isinstance(t['/sluice/rules'], dict), t['/sluice/rules'])
        # the capture's connections came in through the protection's checks, none refused
        prot = t['/sluice/protect']
        refused = {k: v for k, v in prot.items() if k.startswith('refused_') and v}
        check(prot['admitted'] == flows['created'] and not refused and prot['sources'] >= 2 and
              prot['bans_active'] == 0 and prot['emergency'] == 0, prot)
        # the poll loop's stages were timed on the bursts that carried the capture
        st = t['/sluice/stages']
        check(st['packets'] == len(frames) and 0 < st['bursts'] <= len(frames), st)
        check(all(st[s + '_cycles'] > 0 for s in ('rx', 'decode', 'inspect', 'tx', 'timers')), st)
        check(st['decode_cycles_per_worker'] == [st['decode_cycles']] and st['tsc_hz'] > 0, st)
        # the control socket's stats: the same counters (the sink queues' too, 0 here)
        ans = t['stats']
        check(ans.get('ok') is True, ans)
        sm = ans['stats']['messages']
        check(sm['total'] == 2 and sm['dump_queued'] == 0 and sm['journal_queued'] == 0, sm)
        differ = {k: (v, msgs[k]) for k, v in sm.items() if k in msgs and msgs[k] != v}
        check(not differ, f'stats and /sluice/messages differ: {differ}')
        check(ans['stats']['flows']['created'] == flows['created'], ans['stats']['flows'])
        check(ans['stats']['ports']['outside']['rx_packets'] == len(frames), ans['stats']['ports'])
        check(all(a.get('ok') is True and a.get('req') == 0 for a in t['no_req']), t['no_req'][:2])
        nob = t['not_object']
        check(nob.get('ok') is False and nob.get('req') == 0 and 'not a JSON object' in nob.get('error', ''), nob)
    print('telemetry: every /sluice/ command and the control socket\'s stats answer and agree with the capture')


if __name__ == '__main__':
    try:
        main()
    except dputil.Failed as e:
        sys.exit(f'FAIL: {e}')
