#!/usr/bin/python3
"""sluice-dp's control socket keeps no memory of a request once it is answered: the
release sluice-dp (DPDK does not build under ASan, so build-san has none) runs under
LeakSanitizer (liblsan preloaded), is asked requests without "req" (answered with req 0,
whose JSON value once leaked per request), one that is not a JSON object, one that is not
JSON, and an unknown op, then stops; LeakSanitizer must report nothing."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dputil  # noqa: E402
import pcaplib  # noqa: E402
from dputil import check  # noqa: E402

sys.path.insert(0, os.path.join(dputil.SOURCE, 'tests', 'lab', 'peers'))
import dpctl  # noqa: E402

LSAN = '/usr/lib/x86_64-linux-gnu/liblsan.so.0'


def raw(sock, text):
    """One frame of these JSON bytes; the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(struct.pack('>II', len(text), 0) + text)
    jl, bl = struct.unpack('>II', dpctl.recv_exact(s, 8))
    ans = json.loads(dpctl.recv_exact(s, jl))
    s.close()
    return ans


def main():
    check(os.path.exists(LSAN), f'{LSAN} missing (package liblsan0)')
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, 'empty.pcap')
        pcaplib.write(empty, [])
        sock, conf = os.path.join(d, 'dp.sock'), os.path.join(d, 'dp.conf')
        open(conf, 'w').write(f'[control]\nsocket = {sock}\n')
        eal = dputil.eal('leaks', [f'net_pcap0,rx_pcap={empty},tx_pcap={d}/o.pcap',
                                   f'net_pcap1,rx_pcap={empty},tx_pcap={d}/i.pcap'])
        env = dict(os.environ, LD_PRELOAD=LSAN, LSAN_OPTIONS='exitcode=23')
        p = subprocess.Popen([dputil.DP] + eal + ['--', '--config', conf, '--duration', '120'],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for _ in range(600):
                if os.path.exists(sock) or p.poll() is not None:
                    break
                time.sleep(0.1)
            check(os.path.exists(sock), 'the control socket never appeared')
            no_req = [dpctl.ask(sock, {'op': op}, timeout=10) for op in ('hello', 'stats') * 50]
            check(all(a.get('ok') is True and a.get('req') == 0 for a in no_req), no_req[:2])
            unknown = dpctl.ask(sock, {'op': 'no-such-op', 'req': 7}, timeout=10)
            check(unknown.get('ok') is False and unknown.get('req') == 7, unknown)
            for text in (b'["hello"]', b'{"op": '):
                a = raw(sock, text)
                check(a.get('ok') is False and a.get('req') == 0, a)
        finally:
            p.terminate()
            out = p.communicate(timeout=120)[0]
        leaks = [line for line in out.splitlines() if 'LeakSanitizer' in line or 'leak of' in line]
        check(p.returncode == 0 and not leaks, f'exit {p.returncode}: {leaks[:6] or out[-2000:]}')
    print('control socket: 104 requests answered (100 without "req"), nothing leaked')


if __name__ == '__main__':
    try:
        main()
    except dputil.Failed as e:
        sys.exit(f'FAIL: {e}')
