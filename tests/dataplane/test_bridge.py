#!/usr/bin/python3
"""sluice-dp in bridge mode between two net_pcap vdevs: every frame read on one port
leaves the other, byte for byte and in order, in both directions; the counters agree."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402

CAPS = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek', 'captures')


def main():
    a = os.path.join(CAPS, 'zeek__smtp.pcap')
    b = os.path.join(CAPS, 'zeek__communityid__ipv6.pcap')
    with tempfile.TemporaryDirectory() as d:
        out_a, out_b = os.path.join(d, 'out0.pcap'), os.path.join(d, 'out1.pcap')
        st = os.path.join(d, 'stats.json')
        r = dputil.run(dputil.eal('bridge', [
            f'net_pcap0,rx_pcap={a},tx_pcap={out_a}',
            f'net_pcap1,rx_pcap={b},tx_pcap={out_b}']),
            ['--mode', 'bridge', '--duration', '1.5', '--stats-file', st])
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        assert r.returncode == 0, f'exit {r.returncode}'
        assert 'sluice-dp: ready outside=0 inside=1' in r.stdout
        sent_out = [f for _, _, f in pcaplib.read(a)]
        sent_in = [f for _, _, f in pcaplib.read(b)]
        got_in = [f for _, _, f in pcaplib.read(out_b)]
        got_out = [f for _, _, f in pcaplib.read(out_a)]
        assert got_in == sent_out, f'outside->inside: {len(got_in)} frames, want {len(sent_out)} identical'
        assert got_out == sent_in, f'inside->outside: {len(got_out)} frames, want {len(sent_in)} identical'
        s = dputil.stats(st)
        p = s['ports']
        assert p['outside']['rx_packets'] == len(sent_out) == p['inside']['tx_packets']
        assert p['inside']['rx_packets'] == len(sent_in) == p['outside']['tx_packets']
        assert p['inside']['tx_bytes'] == sum(map(len, sent_out))
        assert sum(s['drops'].values()) == 0
    print(f'bridge: {len(sent_out)} + {len(sent_in)} frames forwarded unchanged')


if __name__ == '__main__':
    main()
