#!/usr/bin/python3
"""A client of sluice-dp's control socket written from docs/control.md, independent of
the C code: the frame format, the ops, and the signed-bundle form (Ed25519 with Python's
`cryptography`), so a test that passes through it checks the documented contract.

  dpctl.py SOCKET hello | stats
  dpctl.py SOCKET knob starttls allow|strip|block
  dpctl.py SOCKET load BUNDLE [--id N] [--sign KEY.pem --version N]
  dpctl.py SOCKET raw JSON            one request as given (protocol tests)
  dpctl.py SOCKET block add|del PREFIX... [--for DURATION] [--comment TEXT]
  dpctl.py SOCKET allow add|del PREFIX... [--for DURATION] [--comment TEXT]
  dpctl.py SOCKET lists [allow|block]
  dpctl.py SOCKET list-set allow|block FILE      the whole list from a list file
  dpctl.py SOCKET bans | unban SOURCE...
  dpctl.py SOCKET top [--by KEY] [--limit N] [--net]
  dpctl.py keygen KEY.pem PUB.pem

DURATION: seconds, or with s, m, h, d (1h, 30m).

Prints the answer (one JSON object); exits 0 when it says ok, 1 when not, 2 on errors.
"""
import argparse
import base64
import hashlib
import json
import socket
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def frame(obj, body=b""):
    j = json.dumps(obj).encode()
    return struct.pack(">II", len(j), len(body)) + j + body


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise ConnectionError("the dataplane closed the connection")
        b += chunk
    return b


def ask(path, obj, body=b"", timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(frame(obj, body))
    jl, bl = struct.unpack(">II", recv_exact(s, 8))
    ans = json.loads(recv_exact(s, jl))
    recv_exact(s, bl)
    s.close()
    return ans


def sign(bundle, key_path, version):
    """The signed form of docs/control.md: the signature covers every byte but its own
    line."""
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    head = (b"SLUICE-SIGNED-BUNDLE 1\n" + b"key " + hashlib.sha256(raw).hexdigest().encode() + b"\n" +
            b"version %d\n" % version + b"size %d\n" % len(bundle))
    sig = key.sign(head + b"\n" + bundle)
    return head + b"sig " + base64.b64encode(sig) + b"\n\n" + bundle


def keygen(key_path, pub_path):
    k = Ed25519PrivateKey.generate()
    open(key_path, "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    open(pub_path, "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))


def seconds(text):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "keygen":
        keygen(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("op", choices=["hello", "stats", "knob", "load", "raw", "block", "allow", "lists",
                                   "list-set", "bans", "unban", "top"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--id", type=int)
    ap.add_argument("--sign")
    ap.add_argument("--version", type=int, default=0)
    ap.add_argument("--for", dest="duration")
    ap.add_argument("--comment")
    ap.add_argument("--by")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--net", action="store_true")
    a = ap.parse_args()
    body = b""
    if a.op in ("hello", "stats", "bans"):
        req = {"op": a.op}
    elif a.op in ("block", "allow"):
        if not a.args or a.args[0] not in ("add", "del") or len(a.args) < 2:
            ap.error(f"{a.op} add|del PREFIX...")
        req = {"op": "list." + a.args[0], "list": a.op, "prefixes": a.args[1:]}
        if a.duration:
            req["for"] = seconds(a.duration)
        if a.comment:
            req["comment"] = a.comment
    elif a.op == "lists":
        req = {"op": "list.get"}
        if a.args:
            req["list"] = a.args[0]
    elif a.op == "list-set":
        req = {"op": "list.set", "list": a.args[0]}
        body = open(a.args[1], "rb").read()
    elif a.op == "unban":
        req = {"op": "bans.del", "sources": a.args}
    elif a.op == "top":
        req = {"op": "top.sources", "level": "net" if a.net else "host"}
        if a.by:
            req["by"] = a.by
        if a.limit:
            req["limit"] = a.limit
    elif a.op == "knob":
        req = {"op": "knob.set", a.args[0]: a.args[1]}
    elif a.op == "load":
        body = open(a.args[0], "rb").read()
        if a.sign:
            body = sign(body, a.sign, a.version)
        req = {"op": "bundle.load"}
        if a.id is not None:
            req["id"] = a.id
    else:
        req = json.loads(a.args[0])
    req["req"] = 7
    try:
        ans = ask(a.socket, req, body)
    except (OSError, ConnectionError, ValueError) as e:
        print(json.dumps({"client_error": str(e)}))
        return 2
    print(json.dumps(ans))
    if ans.get("req") != 7:
        print("answer does not echo req", file=sys.stderr)
        return 2
    return 0 if ans.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
