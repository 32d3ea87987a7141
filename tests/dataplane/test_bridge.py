#!/usr/bin/python3
"""sluice-dp in bridge mode between two net_pcap vdevs: every frame read on one port
leaves the other, byte for byte and in order, in both directions; the counters agree.
It runs until its counters show every frame forwarded (not for a fixed time)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402
from dputil import check  # noqa: E402

CAPS = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek', 'captures')


def main():
    a = os.path.join(CAPS, 'zeek__smtp.pcap')
    b = os.path.join(CAPS, 'zeek__communityid__ipv6.pcap')
    sent_out = [f for _, _, f in pcaplib.read(a)]
    sent_in = [f for _, _, f in pcaplib.read(b)]

    def forwarded(tel):
        p = tel.query('/sluice/ports')
        return (p['outside_rx_packets'] == p['inside_tx_packets'] == len(sent_out) and
                p['inside_rx_packets'] == p['outside_tx_packets'] == len(sent_in))

    with tempfile.TemporaryDirectory() as d:
        out_a, out_b = os.path.join(d, 'out0.pcap'), os.path.join(d, 'out1.pcap')
        st = os.path.join(d, 'stats.json')
        rc, out, err, problem = dputil.run_until(dputil.eal('bridge', [
            f'net_pcap0,rx_pcap={a},tx_pcap={out_a}',
            f'net_pcap1,rx_pcap={b},tx_pcap={out_b}']),
            ['--mode', 'bridge', '--stats-file', st], forwarded, 'every frame forwarded')
        sys.stdout.write(out)
        sys.stderr.write(err)
        check(problem is None, problem)
        check(rc == 0, f'exit {rc}')
        check('sluice-dp: ready outside=0 inside=1' in out, 'no ready line')
        got_in = [f for _, _, f in pcaplib.read(out_b)]
        got_out = [f for _, _, f in pcaplib.read(out_a)]
        check(got_in == sent_out, f'outside->inside: {len(got_in)} frames, want {len(sent_out)} identical')
        check(got_out == sent_in, f'inside->outside: {len(got_out)} frames, want {len(sent_in)} identical')
        s = dputil.stats(st)
        p = s['ports']
        check(p['outside']['rx_packets'] == len(sent_out) == p['inside']['tx_packets'], p)
        check(p['inside']['rx_packets'] == len(sent_in) == p['outside']['tx_packets'], p)
        check(p['inside']['tx_bytes'] == sum(map(len, sent_out)), p)
        check(sum(s['drops'].values()) == 0, s['drops'])
    print(f'bridge: {len(sent_out)} + {len(sent_in)} frames forwarded unchanged')


if __name__ == '__main__':
    try:
        main()
    except dputil.Failed as e:
        sys.exit(f'FAIL: {e}')
