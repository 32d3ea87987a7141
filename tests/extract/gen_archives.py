#!/usr/bin/env python3
"""Builds the extraction test messages: archives and documents made with Python's
zipfile/tarfile/gzip (and a few crafted by hand: encryption flag, a disagreeing central
directory, OLE2, entity declarations), each attached to an outgoing .eml. Writes
OUTDIR/NAME.eml and OUTDIR/manifest.tsv: name, the rules of tests/extract/test_extract.c
that must fire (comma-separated, file order), and an evidence path that must appear
("" for none). Usage: gen_archives.py OUTDIR"""
import email.message
import gzip
import io
import os
import struct
import sys
import tarfile
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from mailcorpus import documents  # noqa: E402  (the PDF writer the corpus uses too)

CARD = "4111 1111 1111 1111"          # Luhn-valid
NOT_CARD = "4111 1111 1111 1112"      # Luhn-invalid
TWID = "A123456789"                   # checksum-valid Taiwan ID
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
manifest = []


def mail(name, attname, data, rules, path=""):
    m = email.message.EmailMessage()
    m["From"] = "alice@example.com"
    m["To"] = "bob@partner.example.net"
    m["Subject"] = "quarterly figures"
    m.set_content("Figures attached.\n")
    m.add_attachment(data, maintype="application", subtype="octet-stream", filename=attname)
    with open(os.path.join(out, name + ".eml"), "wb") as f:
        f.write(bytes(m))
    manifest.append((name, rules, path))


def zbytes(files, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for n, d in files:
            z.writestr(n, d)
    return b.getvalue()


def csv(card):
    return f"name,card,note\nalice,{card},ok\nbob,none,-\n".encode()


# ---- formats: the number found, with the member's path; the same without it passes
mail("zip-deflate", "invoice.zip", zbytes([("2024/list.csv", csv(CARD)), ("readme.txt", b"hello " * 500)]),
     "card", "invoice.zip/2024/list.csv")
mail("zip-deflate-clean", "invoice.zip", zbytes([("2024/list.csv", csv(NOT_CARD))]), "")
mail("zip-stored", "invoice.zip", zbytes([("list.csv", csv(CARD))], zipfile.ZIP_STORED), "card",
     "invoice.zip/list.csv")


def tbytes(files, mode):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for n, d in files:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    return b.getvalue()


mail("tar", "data.tar", tbytes([("dir/a.txt", b"nothing"), ("dir/file.csv", csv(CARD))], "w"), "card",
     "data.tar/dir/file.csv")
mail("tar-gz", "data.tar.gz", tbytes([("dir/file.csv", csv(CARD))], "w:gz"), "card",
     "data.tar.gz/data.tar/dir/file.csv")
mail("tar-gz-clean", "data.tar.gz", tbytes([("dir/file.csv", csv(NOT_CARD))], "w:gz"), "")
mail("tar-longname", "data.tar", tbytes([("d/" + "x" * 150 + "/ids.csv", f"id {TWID}\n".encode())], "w"),
     "twid", "data.tar/d/" + "x" * 150 + "/ids.csv")
gzb = io.BytesIO()
with gzip.GzipFile(filename="cards.csv", fileobj=gzb, mode="wb") as g:
    g.write(csv(CARD))
mail("gzip", "cards.csv.gz", gzb.getvalue(), "card", "cards.csv.gz/cards.csv")

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(text_runs):
    run = '<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">%s</w:t></w:r>'
    body = "".join("<w:p>" + "".join(run % r for r in runs) + "</w:p>" for runs in text_runs)
    doc = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>{body}</w:body></w:document>'
    return zbytes([("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
                   ("word/document.xml", doc)])


# the card split over three runs by formatting: one number once runs are joined
mail("docx", "report.docx", docx([["Card: 4111", " 1111 11", "11 1111"], ["Thanks"]]), "card",
     "report.docx/word/document.xml")
mail("docx-clean", "report.docx", docx([["Card: 4111", " 1111 11", "11 1112"], ["Thanks"]]), "")
mail("docx-confidential", "memo.docx", docx([["CONFIDEN", "TIAL: do not forward"]]), "doc",
     "memo.docx/word/document.xml")
# paragraphs never join: the digits of two paragraphs are not one number
mail("docx-paragraphs", "report.docx", docx([["4111 1111"], ["1111 1111"]]), "")

sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
       '<si><t>National ID</t></si><si><r><t>A1234</t></r><r><rPr><b/></rPr><t>56789</t></r></si></sst>')
sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
         '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
         '<row r="2"><c r="A2"><v>4111111111111111</v></c></row></sheetData></worksheet>')
mail("xlsx", "staff.xlsx", zbytes([("xl/sharedStrings.xml", sst), ("xl/worksheets/sheet1.xml", sheet)]),
     "card,twid", "staff.xlsx/xl/sharedStrings.xml")
slide = ('<?xml version="1.0" encoding="UTF-8"?><p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
         'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody>'
         f'<a:p><a:r><a:t>Card {CARD[:9]}</a:t></a:r><a:r><a:t>{CARD[9:]}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
mail("pptx", "deck.pptx", zbytes([("ppt/slides/slide1.xml", slide)]), "card", "deck.pptx/ppt/slides/slide1.xml")
odt = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
       f'<text:p>ID <text:span>A12345</text:span>6789</text:p></office:text></office:body></office:document-content>')
mail("odt", "letter.odt", zbytes([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", odt)]),
     "twid", "letter.odt/content.xml")

# an attached message (message/rfc822) is MIME the parser reads itself, not extraction:
# its base64 body is decoded and scanned like any part (path "" : not inside a container)
inner_msg = email.message.EmailMessage()
inner_msg["From"] = "carol@example.com"
inner_msg["Subject"] = "card on file"
inner_msg.set_content(f"Card {CARD}\n", cte="base64")
fwd = email.message.EmailMessage()
fwd["From"] = "alice@example.com"
fwd["To"] = "bob@partner.example.net"
fwd["Subject"] = "fwd"
fwd.set_content("Forwarded.\n")
fwd.add_attachment(inner_msg)
with open(os.path.join(out, "rfc822.eml"), "wb") as f:
    f.write(bytes(fwd))
manifest.append(("rfc822", "card", ""))

# ---- nesting, names
inner = zbytes([("list.csv", csv(CARD))])
mail("zip-in-zip", "outer.zip", zbytes([("inner.zip", inner)]), "card", "outer.zip/inner.zip/list.csv")
mail("docx-in-zip", "docs.zip", zbytes([("q3/report.docx", docx([["Card: 4111", " 1111 1111 1111"]]))]), "card",
     "docs.zip/q3/report.docx/word/document.xml")
mail("exe-in-zip", "tools.zip", zbytes([("bin/setup.exe", b"MZ" + b"\0" * 64)]), "exe", "tools.zip/bin/setup.exe")
nested = csv(CARD)
name = "list.csv"
for i in range(20):
    nested = zbytes([(name, nested)])
    name = f"level{19 - i}.zip"
mail("nested-20", "level0.zip", nested, "s.depth_exceeded")

# ---- abuse
def encrypted_zip():
    z = bytearray(zbytes([("secret.csv", csv(CARD))], zipfile.ZIP_STORED))
    # set the "encrypted" flag in the local header and the central directory entry, and
    # scramble the data as a cipher would
    z[6] |= 1
    start = 30 + len("secret.csv")
    for i in range(start, start + len(csv(CARD))):
        z[i] ^= 0x5A
    cd = z.rfind(b"PK\x01\x02")
    z[cd + 8] |= 1
    return bytes(z)


mail("zip-encrypted", "secret.zip", encrypted_zip(), "s.encrypted")
full = zbytes([("a.csv", csv(NOT_CARD)), ("b.csv", csv(CARD))])
mail("zip-truncated", "cut.zip", full[: len(full) // 2], "s.truncated")
# the central directory names a member the local headers do not hold
bad = bytearray(full)
cd = bad.rfind(b"PK\x01\x02")
at = bad.index(b"b.csv", cd)
bad[at] = ord("c")
mail("zip-cd-mismatch", "odd.zip", bytes(bad), "card,s.zip_mismatch")


def bomb():
    """2 GiB of zeros in a ZIP in a ZIP (deflate twice: a few KB)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("zeros.bin", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(2048):
                f.write(chunk)
    return zbytes([("zeros.zip", b.getvalue())])


mail("bomb-zip-in-zip", "bomb.zip", bomb(), "s.ratio")
mail("many-members", "many.zip", zbytes([(f"f{i}.txt", b"x") for i in range(10000)]), "s.too_many_members")
noise = "".join(f"{(i * 7919) % 1000003:07x}\n" for i in range(4000)).encode()
cut = gzip.compress(csv(CARD) + noise)
mail("gzip-truncated", "cut.csv.gz", cut[: len(cut) // 2], "card,s.truncated")
ole = bytearray(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + bytes(504))
ole += "EncryptedPackage".encode("utf-16-le") + bytes(4096)
mail("ole-encrypted", "locked.docx", bytes(ole), "s.encrypted_document")
ent = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
       f'<w:document {W}><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>')
mail("xml-entities", "laughs.docx", zbytes([("word/document.xml", ent)]), "s.corrupt")

# XML documents that take much of the stage's memory, one after another on one parser
# (test_extract "a message's extraction is not the one before's")
names = lambda k: '<?xml version="1.0"?><r>' + "".join(f"<e{i:06d}/>" for i in range(k)) + "</r>"
mail("xml-names-12k", "names.zip", zbytes([("names.xml", names(12000))]), "")
mail("xml-names-40k", "names.zip", zbytes([("names.xml", names(40000))]), "s.memory")
mail("xml-long-attribute", "attr.zip", zbytes([("a.xml", '<?xml version="1.0"?><r a="' + "x" * (300 * 1024) +
                                                '"><t>hello</t></r>')]), "")
mail("xml-malformed", "bad.zip", zbytes([("bad.xml", '<?xml version="1.0"?><a><b>text</a>')]), "s.corrupt")

pdf = documents.pdf_bytes

PAGE = (b"BT /F1 12 Tf 72 720 Td (Quarterly figures) Tj 0 -20 Td (Card: 4111 1111) Tj "
        b"[( 1111) -20 ( 1111)] TJ 0 -20 Td [(Staff ID A1234) 12 (56789)] TJ "
        b"0 -20 Td (Thanks \\(see below\\)) Tj ET")
mail("pdf-flate", "figures.pdf", pdf(PAGE), "card,twid", "figures.pdf/content 1")
mail("pdf-plain", "figures.pdf", pdf(PAGE, flate=False), "card,twid", "figures.pdf/content 1")
mail("pdf-clean", "figures.pdf", pdf(PAGE.replace(b"(Card: 4111 1111)", b"(Card: 4111 1112)")
                                     .replace(b"A1234", b"A1235")), "")
# an image whose bytes spell a card: not text, not read as text (nor found raw: deflated)
img = zlib.compress(b"4111 1111 1111 1111" * 4)
mail("pdf-image", "photo.pdf", pdf(b"BT /F1 12 Tf 72 720 Td (Photo) Tj ET", extra_objs=(
    b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 8 /ColorSpace /DeviceGray "
    b"/Filter /FlateDecode /Length " + str(len(img)).encode() + b" >>\nstream\n" + img + b"\nendstream",)), "")
mail("pdf-encrypted", "locked.pdf", pdf(PAGE.replace(b"4111 1111", b"4111 1112").replace(b"A1234", b"A1235"), trailer_extra=b"/Encrypt 6 0 R ",
     extra_objs=(b"<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>",)), "s.encrypted_document")
mail("pdf-ascii85", "old.pdf", b"%PDF-1.2\n1 0 obj\n<< /Filter /ASCII85Decode /Length 10 >>\nstream\n87cURD]i,\"~>\nendstream\nendobj\n%%EOF\n",
     "s.unsupported")

with open(os.path.join(out, "manifest.tsv"), "w") as f:
    for row in manifest:
        f.write("\t".join(row) + "\n")
