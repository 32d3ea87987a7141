"""Minimal pcap reading/writing for the dataplane tests (classic pcap, any link type
recorded as Ethernet). Standard library only."""
import gzip
import struct


def read(path):
    """List of (ts_sec, ts_usec, frame bytes)."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        raise ValueError(f'{path}: not a classic pcap file')
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack(end + 'IIII', data[off:off + 16])
        out.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def write(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            if isinstance(fr, tuple):
                sec, usec, fr = fr
            else:
                sec, usec = i // 1000, (i % 1000) * 1000
            f.write(struct.pack('<IIII', sec, usec, len(fr), len(fr)))
            f.write(fr)
