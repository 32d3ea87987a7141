"""What every sluice-archive test needs around the program: a key file (exported as
SLUICE_ARCHIVE_KEY, which every command reads) and a private PKI made with
tools/archive-pki (the archive's certificate and its peers'), as docs/archive.md tells
an operator to set them up."""
import json
import os
import subprocess
import sys
import time

SRC = os.environ.get("SLUICE_SOURCE_ROOT") or \
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKI_TOOL = os.path.join(SRC, "tools", "archive-pki")
ARCHIVE_NAME = "archive.test"


def setup(exe, work, peers=("gw1", "mail1")):
    """Key file and PKI under work/; returns the PKI directory."""
    key = os.path.join(work, "archive.key")
    if not os.path.exists(key):
        subprocess.run([exe, "keygen", key], check=True, capture_output=True)
    os.environ["SLUICE_ARCHIVE_KEY"] = key
    pki = os.path.join(work, "pki")
    subprocess.run([PKI_TOOL, pki, ARCHIVE_NAME, *peers], check=True)
    return pki


def serve_tls(pki):
    """serve's TLS options: the archive's certificate, and the CA its peers must have."""
    return ["--tls-cert", os.path.join(pki, ARCHIVE_NAME + ".crt"),
            "--tls-key", os.path.join(pki, ARCHIVE_NAME + ".key"),
            "--tls-ca", os.path.join(pki, "ca.crt")]


def wait_indexed(exe, data, timeout=20):
    """Wait until every acknowledged copy is in the index (stats beside the server: the
    indexer writes postings within about a second of the ACK, docs/archive.md); True
    when it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = subprocess.run([exe, "stats", "--data", data, "--json"], capture_output=True,
                           text=True)
        if p.returncode == 0 and json.loads(p.stdout)["index_lag_copies"] == 0:
            return True
        time.sleep(0.1)
    return False


def client_tls(pki, name="gw1"):
    """journal-send's TLS options for peer `name`."""
    return ["--tls-ca", os.path.join(pki, "ca.crt"),
            "--tls-cert", os.path.join(pki, name + ".crt"),
            "--tls-key", os.path.join(pki, name + ".key"),
            "--tls-name", ARCHIVE_NAME]


failures = []


def expect(cond, what):
    """A check that goes on after a failure (reported at the end by finish)."""
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


def finish(passed):
    """Exit 1 when a check failed, else say `passed`."""
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print(passed)
