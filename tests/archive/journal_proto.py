"""The journal protocol (docs/journal-protocol.md) written again in Python, from the
document, for the tests: if the C side and this side agree, the document is right."""
import hashlib
import os
import socket
import ssl
import struct
import zlib

MAGIC = b"SLJR"
VERSION = 1
RECORD, ACK, REFUSE = 1, 2, 3
T_TIME, T_SOURCE_KIND, T_SOURCE, T_DIRECTION, T_MAIL_FROM, T_RCPT = 1, 2, 3, 4, 5, 6
T_CLIENT, T_SERVER, T_HELO, T_VERDICT, T_RULE, T_TXN_ID, T_MESSAGE = 7, 8, 9, 10, 11, 12, 13


def field(tag, value):
    return struct.pack(">HI", tag, len(value)) + value


def payload(time_us, source, message, mail_from="", rcpts=(), rules=(), direction=0,
            source_kind=1, verdict="pass", txn_id=None):
    p = field(T_TIME, struct.pack(">Q", time_us))
    p += field(T_SOURCE_KIND, bytes([source_kind]))
    p += field(T_SOURCE, source.encode())
    p += field(T_DIRECTION, bytes([direction]))
    p += field(T_MAIL_FROM, mail_from.encode())
    for r in rcpts:
        p += field(T_RCPT, r.encode())
    p += field(T_VERDICT, verdict.encode())
    for r in rules:
        p += field(T_RULE, r.encode())
    if txn_id:
        p += field(T_TXN_ID, txn_id.encode())
    p += field(T_MESSAGE, message)
    return p


def frame(ftype, body):
    head = MAGIC + bytes([VERSION, ftype, 0, 0]) + struct.pack(">I", len(body))
    return head + struct.pack(">I", zlib.crc32(head + body)) + body


def record_id(body):
    """A record's identity: SHA-256 of its payload."""
    return hashlib.sha256(body).digest()


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def read_reply(sock):
    """(type, record id, status, reason) of one ACK/REFUSE frame."""
    head = read_exact(sock, 16)
    if head[:4] != MAGIC or head[4] != VERSION:
        raise ValueError("bad reply header")
    ftype = head[5]
    (length,) = struct.unpack(">I", head[8:12])
    (crc,) = struct.unpack(">I", head[12:16])
    body = read_exact(sock, length)
    if zlib.crc32(head[:12] + body) != crc:
        raise ValueError("reply CRC mismatch")
    return ftype, body[:32], body[32], body[33:].decode(errors="replace")


def tls_context(pki, name):
    """A client context with certificate NAME from a tools/archive-pki directory (the
    archive's CA verifies it; the archive's certificate is checked against the CA)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, name + ".crt"), os.path.join(pki, name + ".key"))
    return ctx


def connect(addr, timeout=10, tls=None):
    """A journal connection: plain TCP, or TLS with the given client context."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        s = tls.wrap_socket(s)
    return s
