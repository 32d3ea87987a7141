#!/usr/bin/env python3
"""The archive indexes what the extraction stage finds (docs/extraction.md): an auditor
finds the spreadsheet that held a word. Messages from gen_archives.py are imported into
a fresh archive; words that exist only inside a compressed attachment (a cell of an
xlsx, a Word paragraph split into runs, a CSV in a ZIP, a PDF's page) and a name inside
a ZIP are searched, each must find exactly its message, and a word of none finds none.

usage: archive_index.py SLUICE_ARCHIVE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

EXE = sys.argv[1]
SRC = os.environ.get("SLUICE_SOURCE_ROOT", ".")
CASES = ["xlsx", "docx-confidential", "zip-deflate", "pdf-flate", "tar-gz", "docx-clean"]
# query -> the one message it must find
WANT = {
    "body:national": "xlsx",              # xl/sharedStrings.xml: "National ID"
    "body:confidential": "docx-confidential",  # "CONFIDEN" + "TIAL" in two runs
    "body:alice": None,                   # in the CSVs of zip-deflate and tar-gz: checked below
    "body:quarterly": "pdf-flate",        # the PDF's page ("Quarterly figures"); subjects are not body
    "filename:list": "zip-deflate",       # invoice.zip/2024/list.csv
    "body:zyxwvut": "",                   # nowhere
}


def run(*args):
    p = subprocess.run([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode:
        sys.exit(f"FAIL: sluice-archive {' '.join(args[:2])}: {p.stderr.decode().strip()}")
    return p.stdout.decode()


def main():
    tmp = tempfile.mkdtemp(prefix="sluice-xindex-")
    failures = []
    try:
        gen = os.path.join(tmp, "gen")
        subprocess.run([sys.executable, os.path.join(SRC, "tests/extract/gen_archives.py"), gen],
                       check=True, timeout=300)
        key = os.path.join(tmp, "archive.key")  # the archive encrypts at rest
        run("keygen", key)
        os.environ["SLUICE_ARCHIVE_KEY"] = key
        data = os.path.join(tmp, "data")
        files = [os.path.join(gen, c + ".eml") for c in CASES]
        ids = {}
        for line in run("import", "--data", data, "-v", *files).splitlines():
            mid, _, path = line.split("\t", 2)
            ids[os.path.basename(path)[:-4]] = int(mid)
        if len(ids) != len(CASES):
            failures.append(f"imported {sorted(ids)}, want {CASES}")
        name = {v: k for k, v in ids.items()}
        for q, want in WANT.items():
            got = sorted(name.get(r["id"], "?") for r in json.loads("[" + ",".join(
                run("search", "--data", data, q, "--json").splitlines()) + "]"))
            expect = sorted(["zip-deflate", "tar-gz"]) if want is None else ([want] if want else [])
            ok = got == expect
            print(f"{'ok  ' if ok else 'FAIL'} {q:22} {got}")
            if not ok:
                failures.append(f"{q}: {got}, want {expect}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
