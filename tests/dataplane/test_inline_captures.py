#!/usr/bin/python3
"""sluice-dp inline (DPDK, net_pcap vdevs, enforce mode with the shipped policy) fed
every Ethernet capture of tests/data/zeek/captures in wire order on its outside port:
each TCP stream leaves the dataplane exactly as it came in (the normalizer re-segments
some of it, the bytes are the same), nothing is injected, and it counts as many messages
as offline mode finds in the same capture. SMTP is recognised by content too
(the capture on port 8240).

Left out: captures of one direction only, and the one with a capture hole: inline, the
bytes after a hole are held until the sender fills it, which a capture never does."""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402

CAPS = os.path.join(dputil.SOURCE, 'tests', 'data', 'zeek', 'captures')
POLICY = os.path.join(dputil.SOURCE, 'docs', 'examples', 'policy.rules')


def offline_messages(cap, d):
    out = os.path.join(d, 'offline')
    r = subprocess.run([dputil.DP, '--offline', cap, '--rules', POLICY, '--dump-messages', out],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return len(open(os.path.join(out, 'verdicts.jsonl')).read().splitlines())


def main():
    one_sided_or_hole = ('zeek__smtp-attachment-msg.pcap', 'zeek__smtp-one-side-only.pcap',
                         'zeek__smtp__smtp-bdat-gap.pcap')
    caps = [c for c in sorted(glob.glob(os.path.join(CAPS, '*.pcap')))
            if pcaplib.linktype(c) == 1 and os.path.basename(c) not in one_sided_or_hole]
    assert len(caps) >= 10, caps
    failed = 0
    for cap in caps:
        with tempfile.TemporaryDirectory() as d:
            empty = os.path.join(d, 'empty.pcap')
            pcaplib.write(empty, [])
            conf = os.path.join(d, 'dp.conf')
            # captures were taken on hosts with checksum offload: their checksums are junk
            open(conf, 'w').write('[flows]\nverify_checksums = no\n[smtp]\ndetect = yes\n')
            to_in, to_out, st = (os.path.join(d, n) for n in ('in.pcap', 'out.pcap', 'st.json'))
            r = dputil.run(dputil.eal('inline', [f'net_pcap0,rx_pcap={cap},tx_pcap={to_out}',
                                                 f'net_pcap1,rx_pcap={empty},tx_pcap={to_in}']),
                           ['--config', conf, '--rules', POLICY, '--duration', '1', '--stats-file', st])
            problems = []
            if r.returncode != 0:
                problems.append(f'exit {r.returncode}: {r.stderr.strip()[-300:]}')
            else:
                # all came in on one port: what goes to the client leaves by the
                # same port, the rest by the other; together they are both streams
                sent = pcaplib.streams([f for _, _, f in pcaplib.read(cap)])
                got = pcaplib.streams([f for _, _, f in pcaplib.read(to_in) + pcaplib.read(to_out)])
                for k, data in sent.items():
                    if got.get(k, b'') != data:
                        problems.append(f'stream {k[1]}->{k[3]}: {len(got.get(k, b""))} bytes out, {len(data)} in')
                s = dputil.stats(st)
                injected = sum(p['injected'] for p in s['ports'].values())
                if injected:
                    problems.append(f'{injected} segments injected')
                want = offline_messages(cap, d)
                if s['messages']['total'] != want:
                    problems.append(f'{s["messages"]["total"]} messages inline, {want} offline')
                if sum(s['drops'].values()):
                    problems.append(f'drops {s["drops"]}')
            print(f'{"ok" if not problems else "FAIL":4} {os.path.basename(cap)}')
            for p in problems:
                print(f'       {p}')
            failed += bool(problems)
    print(f'{len(caps) - failed}/{len(caps)} captures passed through unchanged')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
