"""Minimal pcap reading/writing for the dataplane tests (classic pcap, any link type
recorded as Ethernet). Standard library only."""
import gzip
import struct


def linktype(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        h = f.read(24)
    if h[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        return struct.unpack('<I', h[20:24])[0]
    if h[:4] in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        return struct.unpack('>I', h[20:24])[0]
    return None


def tcp_segments(frames):
    """(src, sport, dst, dport, seq, flags, payload) of each TCP segment in Ethernet
    frames (VLAN tags, IPv4, IPv6 without extension headers)."""
    out = []
    for fr in frames:
        off = 12
        et = struct.unpack('>H', fr[off:off + 2])[0]
        off += 2
        while et in (0x8100, 0x88a8):
            et = struct.unpack('>H', fr[off + 2:off + 4])[0]
            off += 4
        if et == 0x0800:
            ihl = (fr[off] & 15) * 4
            total = struct.unpack('>H', fr[off + 2:off + 4])[0]
            if fr[off + 9] != 6:
                continue
            src, dst = fr[off + 12:off + 16], fr[off + 16:off + 20]
            end = off + total
            off += ihl
        elif et == 0x86dd:
            plen = struct.unpack('>H', fr[off + 4:off + 6])[0]
            if fr[off + 6] != 6:
                continue
            src, dst = fr[off + 8:off + 24], fr[off + 24:off + 40]
            end = off + 40 + plen
            off += 40
        else:
            continue
        sport, dport, seq = struct.unpack('>HHI', fr[off:off + 8])
        hl = (fr[off + 12] >> 4) * 4
        flags = fr[off + 13]
        out.append((src, sport, dst, dport, seq, flags, fr[off + hl:end]))
    return out


def streams(frames):
    """{(src, sport, dst, dport): bytes} reassembled per direction, first data wins,
    from the SYN (or the first segment seen) on; holes end a stream."""
    segs = {}
    isn = {}
    for src, sport, dst, dport, seq, flags, pl in tcp_segments(frames):
        k = (src, sport, dst, dport)
        if flags & 0x02:
            isn[k] = (seq + 1) & 0xffffffff
            continue
        if k not in isn:
            isn[k] = seq
        if pl:
            segs.setdefault(k, []).append(((seq - isn[k]) & 0xffffffff, pl))
    out = {}
    for k, lst in segs.items():
        data = bytearray()
        for off, pl in sorted(lst, key=lambda x: x[0]):
            if off > len(data):
                break
            if off + len(pl) > len(data):
                data += pl[len(data) - off:]
        out[k] = bytes(data)
    return out


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
