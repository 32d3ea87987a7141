#!/usr/bin/env python3
"""Differential test of the extraction stage: what extract-dump (the stage alone) writes
for each archive of gen_archives.py equals what the reference tools print: `unzip -p`
for ZIP members (nested ZIPs opened the same way), `tar -xO` for tar members, `gzip -dc`
for gzip, `pdftotext` (poppler-utils) for the text of hand-written PDFs. With LibreOffice installed (soffice, Debian's libreoffice-*-nogui), documents
LibreOffice itself writes (docx, odt, xlsx from text with a card number and an ID) are
read back: the text the stage extracts equals LibreOffice's own text export (whitespace
normalised) and the numbers are found in it. Every comparison is counted; a reference
tool missing fails the test (they are in tools/lib/packages.txt), except LibreOffice,
whose part is reported as not run.

The LibreOffice documents also go through `sluicectl rules test` with the shipped policy,
attached to an outgoing mail: the card and the ID are found, with the path inside.

usage: differential.py EXTRACT_DUMP SLUICECTL"""
import email
import email.message
import json
import os
import shutil
import subprocess
import sys
import tempfile

DUMP, SLUICECTL = sys.argv[1], sys.argv[2]
SRC = os.environ.get("SLUICE_SOURCE_ROOT", ".")
failures = []
compared = 0

# abuse cases are checked by test_extract (verdicts, bounds), not against unzip
SKIP = {"bomb-zip-in-zip", "many-members", "nested-20", "zip-encrypted", "zip-truncated",
        "zip-cd-mismatch", "gzip-truncated", "xml-entities", "ole-encrypted", "pdf-encrypted",
        "pdf-ascii85"}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                          timeout=120, **kw).stdout


def check(ok, what):
    global compared
    compared += 1
    if not ok:
        failures.append(what)
        print("FAIL", what)


def is_zip(b):
    return b[:4] == b"PK\x03\x04"


def is_xml(b):
    s = b.lstrip(b"\xef\xbb\xbf \t\r\n")
    return s[:1] == b"<"


def unzip_literal(name):
    """unzip reads member names as wildcards: make [, * and ? literal."""
    return "".join("[" + c + "]" if c in "[*?" else c for c in name)


def compare_zip(path, out, label):
    for name in run(["unzip", "-Z1", path]).decode().splitlines():
        if name.endswith("/"):
            continue
        ref = run(["unzip", "-p", path, unzip_literal(name)])
        where = os.path.join(out, name)
        if is_zip(ref):
            inner = where + ".ref.zip"
            os.makedirs(os.path.dirname(inner), exist_ok=True)
            with open(inner, "wb") as f:
                f.write(ref)
            compare_zip(inner, where, f"{label}/{name}")
        elif is_xml(ref) and not os.path.exists(where):
            # a document part: its text (Office markup parts are files: compared below)
            check(os.path.exists(where + ".txt"), f"{label}/{name}: no text extracted from an XML part")
        else:
            got = open(where, "rb").read() if os.path.exists(where) else None
            check(got == ref, f"{label}/{name}: {len(got) if got is not None else 'missing'} bytes, unzip -p gives {len(ref)}")


def compare_tar(path, out, label, z=False):
    flags = "-tzf" if z else "-tf"
    for name in run(["tar", flags, path]).decode().splitlines():
        if name.endswith("/"):
            continue
        ref = run(["tar", "-xOzf" if z else "-xOf", path, name])
        where = os.path.join(out, name)
        got = open(where, "rb").read() if os.path.exists(where) else None
        check(got == ref, f"{label}/{name}: tar -xO differs")


def compare_pdf(path, out, label):
    """The text of every content stream, in order, against pdftotext's (words)."""
    if not shutil.which("pdftotext"):
        failures.append(f"{label}: pdftotext missing (poppler-utils, tools/lib/packages.txt)")
        return
    ref = run(["pdftotext", "-q", path, "-"])
    got = b""
    for i in range(1, 1000):
        part = os.path.join(out, f"content {i}.txt")
        if not os.path.exists(part):
            break
        got += open(part, "rb").read() + b"\n"
    check(words(got) == words(ref), f"{label}: text {words(got)} vs pdftotext's {words(ref)}")


def attachments(eml):
    m = email.message_from_binary_file(open(eml, "rb"))
    for p in m.walk():
        if p.get_filename():
            yield p.get_filename(), p.get_payload(decode=True)


def dump(path, out):
    os.makedirs(out, exist_ok=True)
    return run([DUMP, path, out]).decode()


def archives(tmp):
    gen = os.path.join(tmp, "gen")
    run([sys.executable, os.path.join(SRC, "tests/extract/gen_archives.py"), gen])
    for line in open(os.path.join(gen, "manifest.tsv")):
        case = line.split("\t")[0]
        if case in SKIP:
            continue
        for fname, data in attachments(os.path.join(gen, case + ".eml")):
            path = os.path.join(tmp, "att", case, fname)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            out = os.path.join(tmp, "out", case)
            dump(path, out)
            if is_zip(data):
                compare_zip(path, out, case)
            elif data[257:262] == b"ustar":
                compare_tar(path, out, case)
            elif data[:5] == b"%PDF-":
                compare_pdf(path, out, case)
            elif data[:2] == b"\x1f\x8b":
                inner = run(["gzip", "-dc", path])
                names = os.listdir(out)
                check(len(names) == 1, f"{case}: gzip gives one member, found {names}")
                where = os.path.join(out, names[0]) if names else ""
                if inner[257:262] == b"ustar":
                    compare_tar(path, where, case, z=True)
                else:
                    got = open(where, "rb").read() if os.path.isfile(where) else None
                    check(got == inner, f"{case}: gzip -dc differs")


def words(b):
    return b.decode("utf-8", "replace").split()


def shipped_verdict(doc, d):
    m = email.message.EmailMessage()
    m["From"] = "alice@example.com"
    m["To"] = "bob@partner.example.net"
    m["Subject"] = "files"
    m.set_content("Attached.\n")
    m.add_attachment(open(doc, "rb").read(), maintype="application", subtype="octet-stream",
                     filename=os.path.basename(doc))
    eml = doc + ".eml"
    with open(eml, "wb") as f:
        f.write(bytes(m))
    out = run([SLUICECTL, "rules", "test", os.path.join(SRC, "docs/examples/policy.rules"), eml,
               "--json", "--direction", "outbound"])
    return json.loads(out)


def libreoffice(tmp):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("LibreOffice not installed: documents written by LibreOffice not compared (not run)")
        return
    d = os.path.join(tmp, "lo")
    os.makedirs(d)
    text = os.path.join(d, "memo.txt")
    with open(text, "w") as f:
        f.write("Quarterly memo\nCustomer card 4111 1111 1111 1111\nStaff ID A123456789\nEnd\n")
    csv = os.path.join(d, "staff.csv")
    with open(csv, "w") as f:
        f.write("Name,ID,Card\nChen Mei,A123456789,4111111111111111\n")
    env = dict(os.environ, HOME=d)  # LibreOffice's profile goes here, not the user's
    # LibreOffice's PDFs use subset fonts whose codes map to text through ToUnicode
    # streams written after the page: not read (docs/extraction.md), and said so
    run([soffice, "--headless", "--norestore", "--convert-to", "pdf", "--outdir", d, text], env=env)
    signals = dump(os.path.join(d, "memo.pdf"), os.path.join(tmp, "lo-out", "pdf"))
    check("extract.unsupported" in signals and "ToUnicode" in signals,
          f"LibreOffice's PDF: the unread font encoding is not signalled: {signals!r}")
    for src, fmt, part in ((text, "docx", "word/document.xml"), (text, "odt", "content.xml"),
                           (csv, "xlsx", "xl/sharedStrings.xml")):
        run([soffice, "--headless", "--norestore", "--convert-to", fmt, "--outdir", d, src], env=env)
        doc = os.path.splitext(src)[0] + "." + fmt
        out = os.path.join(tmp, "lo-out", fmt)
        dump(doc, out)
        got = open(os.path.join(out, part + ".txt"), "rb").read() if os.path.exists(os.path.join(out, part + ".txt")) else b""
        if fmt == "xlsx":
            # the sheet's strings, as LibreOffice exports them to CSV
            ref_csv = os.path.join(d, "back")
            os.makedirs(ref_csv, exist_ok=True)
            run([soffice, "--headless", "--norestore", "--convert-to", "csv", "--outdir", ref_csv, doc], env=env)
            cells = [c for row in open(os.path.join(ref_csv, "staff.csv")).read().split() for c in row.split(",")]
            strings = [c for c in cells if not c.isdigit()]
            check(all(c in got.decode() for c in strings), f"xlsx: LibreOffice's cells {strings} not all in {got!r}")
        else:
            back = os.path.join(d, "back-" + fmt)
            os.makedirs(back, exist_ok=True)
            run([soffice, "--headless", "--norestore", "--convert-to", "txt:Text", "--outdir", back, doc], env=env)
            ref = open(os.path.join(back, "memo.txt"), "rb").read().lstrip(b"\xef\xbb\xbf")
            check(words(got) == words(ref), f"{fmt}: text {words(got)} vs LibreOffice's {words(ref)}")
        check(b"A123456789" in got, f"{fmt}: the ID is not in the extracted text")
        print(f"LibreOffice {fmt}: {len(words(got))} words extracted from {part}")
        verdict = shipped_verdict(doc, d)
        paths = {e.get("path") for h in verdict["rules"] for e in h["evidence"]}
        fired = {h["id"] for h in verdict["rules"]}
        # a 16-digit number typed into a spreadsheet cell is kept as a float
        # (4.11111111111111E+15), as Excel does: no card number is left in the xlsx
        want = {"dlp.tw-national-id"} if fmt == "xlsx" else {"dlp.credit-card", "dlp.tw-national-id"}
        check(verdict["verdict"] == "quarantine" and want <= fired
              and os.path.basename(doc) + "/" + part in paths,
              f"{fmt} under the shipped policy: {verdict}")


def main():
    for tool in ("unzip", "tar", "gzip"):
        if not shutil.which(tool):
            sys.exit(f"FAIL: {tool} missing (tools/lib/packages.txt)")
    tmp = tempfile.mkdtemp(prefix="sluice-xdiff-")
    try:
        archives(tmp)
        print(f"archives: {compared} members compared with unzip/tar/gzip")
        libreoffice(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{compared} comparisons, {len(failures)} failed")
    if failures or compared < 20:
        sys.exit(1)


if __name__ == "__main__":
    main()
