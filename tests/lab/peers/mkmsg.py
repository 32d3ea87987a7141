#!/usr/bin/python3
"""Write one test message (CRLF line endings) for the lab: mkmsg.py KIND ID OUT.

The Message-ID is <ID@lab.example.org>, so a test finds the message in the server's
maildir. Content is deterministic (seeded by ID). What the shipped policy
(docs/examples/policy.rules) makes of each kind, for mail from the lab's client
(192.0.2.1, internal) to bob@example.net (outside), i.e. outbound:
  clean        a short text mail                                    pass
  report       multipart: text, HTML alternative, a PDF attachment  pass
  cc           a payment card number in the body                    quarantine (dlp.credit-card)
  cards        five different card numbers                          reject (dlp.card-dump)
  twid         a Taiwanese national ID number, UTF-8 Chinese body   quarantine (dlp.tw-national-id)
  xlsx         a spreadsheet (staff.xlsx, a real OOXML workbook) holding a Taiwanese
               national ID in a cell: found inside the compressed file quarantine (dlp.tw-national-id)
  eicar        the EICAR test file attached as test.txt             reject (av.eicar, av.known-bad)
  exe          a Windows executable attached as invoice.exe         reject (attach.executable)
  spam         spam subject and three spam phrases: score 8         quarantine (threshold 6)
  spam10       the same and a broken base64 part: score 10          reject (threshold 10)
  internal     Carol to Bob, both @example.net, Chinese subject     pass
               (RFC 2047) and body: mail that stays on the mail host
  big:MB       a text mail with an MB-megabyte binary attachment    pass
  smuggle:V    not a message: the raw DATA bytes of an SMTP smuggling attempt with
               end-of-data variant V (peers/smuggling.py), for smtpclient.py rawdata;
               the inner message's Message-ID is <ID-inner@...>
"""
import os
import random
import sys
from email.message import EmailMessage
from email.policy import SMTP

import smuggling

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools"))
from mailcorpus import documents  # noqa: E402  (a real xlsx, as the corpus writes them)

# Known test values, not real data: card networks' documented test numbers (Luhn-valid),
# the ID number used in Taiwan's own documentation, and the EICAR string (eicar.org).
CARD = "4111 1111 1111 1111"
TEST_CARDS = ["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881",
              "3782 822463 10005", "6011 1111 1111 1117"]
TW_ID = "A123456789"
EICAR = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
# Three phrases of docs/examples/spam-phrases.txt (spam.body-phrases), in words the
# imported SpamAssassin rules score little: "Dear friend ... claim your prize ... risk
# free" is advance-fee fraud to them (DEAR_FRIEND, ADVANCE_FEE_3_NEW, RISK_FREE) and
# the lab's quarantine case would be rejected ...
SPAM_TEXT = ("This is a limited time offer from our shop: click here to see it. "
             "To stop these mails, unsubscribe below.")
# ... and a subject spam.subject matches.
SPAM_SUBJECT = "You have won the lottery"


# What the shipped policy decides for each kind (outbound): verdict and the rules that
# fire. tests/lab/test-messages.py checks it with `sluicectl rules test`; the lab tests
# rely on it.
EXPECTED = {
    "clean": ("pass", []),
    "report": ("pass", []),
    "internal": ("pass", []),
    "cc": ("quarantine", ["dlp.credit-card"]),
    "cards": ("reject", ["dlp.credit-card", "dlp.card-dump"]),
    "twid": ("quarantine", ["dlp.tw-national-id"]),
    "xlsx": ("quarantine", ["dlp.tw-national-id"]),
    "eicar": ("reject", ["av.eicar", "av.known-bad"]),
    "exe": ("reject", ["attach.executable"]),
    "spam": ("quarantine", ["spam.subject", "spam.body-phrases"]),
    "spam10": ("reject", ["spam.subject", "spam.body-phrases", "spam.encoding-tricks"]),
}


def base(msg_id, subject):
    m = EmailMessage(policy=SMTP)
    m["From"] = "Alice Sender <alice@example.org>"
    m["To"] = "Bob Receiver <bob@example.net>"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Feb 2025 10:00:00 +0000"
    m["Message-ID"] = f"<{msg_id}@lab.example.org>"
    return m


def build(kind, msg_id):
    rnd = random.Random(msg_id)
    random.seed(msg_id)  # MIME boundaries come from the global generator
    if kind == "clean":
        m = base(msg_id, "Quarterly report")
        m.set_content("Hello Bob,\n\nthe quarterly report is attached to the wiki.\n"
                      f"Reference {msg_id}.\n\nAlice\n")
    elif kind == "internal":
        m = base(msg_id, "內部會議紀錄 (internal minutes)")
        m.replace_header("From", "Carol Colleague <carol@example.net>")
        m.set_content("Bob,\n\n今天會議決議：合約續約已核准 (the contract renewal is approved).\n\nCarol\n",
                      charset="utf-8")
    elif kind == "cc":
        m = base(msg_id, "Payment details")
        m.set_content(f"Hi,\n\nplease charge card {CARD}, expiry 12/29.\n\nAlice\n")
    elif kind == "twid":
        m = base(msg_id, "客戶資料")
        m.set_content(f"您好，\n\n客戶身分證字號：{TW_ID}，請協助建檔。\n\nAlice\n",
                      charset="utf-8")
    elif kind == "xlsx":
        m = base(msg_id, "New staff")
        m.set_content("Hi,\n\nthe new staff list is attached.\n\nAlice\n")
        book = documents.xlsx_bytes([["Name", "ID number", "Team"], ["Chen Mei", TW_ID, "Sales"]])
        m.add_attachment(book, maintype="application",
                         subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         filename="staff.xlsx")
    elif kind == "cards":
        m = base(msg_id, "Customer list")
        m.set_content("Cards on file:\n" + "".join(f"  {c}\n" for c in TEST_CARDS))
    elif kind == "eicar":
        m = base(msg_id, "Scanner test")
        m.set_content("See attachment.\n")
        m.add_attachment(EICAR.encode(), maintype="application",
                         subtype="octet-stream", filename="test.txt")
    elif kind == "exe":
        m = base(msg_id, "Invoice")
        m.set_content("Your invoice is attached.\n")
        exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + \
            bytes(rnd.getrandbits(8) for _ in range(2048))
        m.add_attachment(exe, maintype="application", subtype="octet-stream",
                         filename="invoice.exe")
    elif kind == "report":
        m = base(msg_id, "Minutes of the board meeting")
        m.set_content("Minutes attached.\n\n-- \nAlice\n")
        m.add_alternative("<html><body><p>Minutes <b>attached</b>.</p></body></html>\n",
                          subtype="html")
        pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(rnd.getrandbits(8) for _ in range(30000))
        m.add_attachment(pdf, maintype="application", subtype="pdf", filename="minutes.pdf")
    elif kind in ("spam", "spam10"):
        m = base(msg_id, SPAM_SUBJECT)
        m.set_content(SPAM_TEXT + "\n")
        if kind == "spam10":
            # a part whose base64 is broken (mime.bad_base64, spam.encoding-tricks)
            bad = EmailMessage(policy=SMTP)
            bad["Content-Type"] = "text/plain; charset=utf-8"
            bad["Content-Transfer-Encoding"] = "base64"
            bad.set_payload("SGVsbG8@@@ this is not base64 !!!\n")
            m.make_mixed()
            m.attach(bad)
    elif kind.startswith("big:"):
        mb = float(kind[4:])
        m = base(msg_id, "Large attachment")
        m.set_content("The archive you asked for.\n")
        m.add_attachment(rnd.randbytes(int(mb * 1024 * 1024)), maintype="application",
                         subtype="zip", filename="archive.zip")
    elif kind.startswith("smuggle:"):
        return smuggling.data_bytes(kind[8:], msg_id)
    else:
        sys.exit(f"mkmsg.py: unknown kind {kind!r}")
    return m.as_bytes()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kind, msg_id, out = sys.argv[1:]
    data = build(kind, msg_id)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
