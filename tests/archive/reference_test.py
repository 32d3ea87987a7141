#!/usr/bin/python3
"""Search correctness against a reference (issue 5, "done when"): on a corpus the
archive has never seen (tools/corpus, a new seed each run), every query returns exactly
the messages a straightforward reference finds. The reference is this file: Python's
email package decodes each message, and the word rules of docs/archive.md ("Words") are
applied to the decoded text; nothing here shares code with the archive.

Queries: senders, recipients (address, domain), date ranges, English words, Chinese
words in Big5 and UTF-8 (and GBK) mail, phrases, negation, OR, has:attachment.

usage: reference_test.py SLUICE_ARCHIVE [--count N] [--seed S]"""
import argparse
import email
import email.policy
import email.utils
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from datetime import datetime, timezone

CJK = [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF),
       (0xF900, 0xFAFF), (0x20000, 0x3134F)]


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK) and ch.isalnum()


def tokens(text):
    """docs/archive.md "Words": casefold; alnum runs are words (<= 64 bytes); CJK runs
    give overlapping bigrams (a lone character: itself)."""
    out, word, run = [], "", []

    def end_word():
        nonlocal word
        if word and len(word.encode()) <= 64:
            out.append(word)
        word = ""

    def end_run():
        nonlocal run
        if len(run) == 1:
            out.append(run[0])
        run = []

    for ch in text.casefold():
        if is_cjk(ch):
            end_word()
            if run:
                out.append(run[-1] + ch)
            run.append(ch)
        elif ch.isalnum():
            end_run()
            word += ch
        else:
            end_word()
            end_run()
    end_word()
    end_run()
    return out


ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}


def html_to_text(s):
    """docs/archive.md: tags become a space; script, style, comments vanish; entities."""
    out, i, n = [], 0, len(s)
    low = s.lower()
    while i < n:
        c = s[i]
        if c == "<":
            if low.startswith("<!--", i):
                e = low.find("-->", i + 4)
                i = n if e < 0 else e + 3
            elif low.startswith("<script", i) or low.startswith("<style", i):
                close = "</script" if low.startswith("<script", i) else "</style"
                e = low.find(close, i)
                if e < 0:
                    i = n
                else:
                    gt = s.find(">", e)
                    i = n if gt < 0 else gt + 1
            else:
                gt = s.find(">", i)
                i = n if gt < 0 else gt + 1
            out.append(" ")
        elif c == "&":
            m = re.match(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-z]+);", s[i:i + 13])
            ch = None
            if m:
                ent = m.group(1)
                if ent.startswith("#"):
                    v = int(ent[2:], 16) if ent[1] in "xX" else int(ent[1:])
                    if 0 < v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF:
                        ch = chr(v)
                else:
                    ch = ENTITIES.get(ent)
            if ch is not None:
                out.append(ch)
                i += len(m.group(0))
            else:
                out.append("&")
                i += 1
        else:
            j = i
            while j < n and s[j] not in "<&":
                j += 1
            out.append(s[i:j])
            i = j
    return "".join(out)


def address_terms(name, addr):
    t = set()
    if addr:
        a = addr.casefold()
        t.add(a)
        if "@" in a:
            local, dom = a.rsplit("@", 1)
            t.add(local)
            while "." in dom:
                t.add(dom)
                dom = dom.split(".", 1)[1]
    t.update(tokens(name or ""))
    return t


def positions_of(text_list):
    """Token lists per segment; phrases never span segments."""
    return [tokens(t) for t in text_list]


class Doc:
    def __init__(self, raw):
        self.sha = hashlib.sha256(raw).hexdigest()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.date = email.utils.parsedate_to_datetime(str(m["Date"])).timestamp()
        self.from_terms, self.to_terms = set(), set()
        for n, a in email.utils.getaddresses([str(v) for v in m.get_all("From", [])]):
            self.from_terms |= address_terms(n, a)
        for h in ("To", "Cc", "Bcc"):
            for n, a in email.utils.getaddresses([str(v) for v in m.get_all(h, [])]):
                self.to_terms |= address_terms(n, a)
        self.subject = positions_of([str(v) for v in m.get_all("Subject", [])])
        bodies = []
        self.attachment = False
        for part in m.walk():
            if part.get_content_type() == "message/rfc822":
                # a forwarded message's subject is text of this one (docs/archive.md)
                for inner in (part.get_payload() if isinstance(part.get_payload(), list) else []):
                    bodies += [str(v) for v in inner.get_all("Subject", [])]
                continue
            if part.is_multipart() or part.get_content_maintype() == "message":
                continue
            if part.get_filename() or part.get_content_disposition() == "attachment":
                self.attachment = True
            if part.get_content_maintype() == "text":
                text = part.get_content()
                if part.get_content_type() == "text/html":
                    text = html_to_text(text)
                bodies.append(text)
        self.body = positions_of(bodies)

    @staticmethod
    def has_phrase(segments, words):
        if not words:
            return False
        for seg in segments:
            for i in range(len(seg) - len(words) + 1):
                if seg[i:i + len(words)] == words:
                    return True
        return False

    def text_has(self, phrase, fields="sb"):
        words = tokens(phrase)
        return (("s" in fields and self.has_phrase(self.subject, words)) or
                ("b" in fields and self.has_phrase(self.body, words)))


def day(s):
    return datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


def reference(q, d):
    """The reference semantics of the queries this test asks (a subset of the language,
    with one meaning each)."""
    kind, *args = q
    if kind == "word":
        return d.text_has(args[0])
    if kind == "subject":
        return d.text_has(args[0], "s")
    if kind == "body":
        return d.text_has(args[0], "b")
    if kind == "from":
        return args[0].casefold() in d.from_terms
    if kind == "to":
        return args[0].casefold() in d.to_terms
    if kind == "after":
        return d.date >= day(args[0])
    if kind == "before":
        return d.date < day(args[0])
    if kind == "has":
        return d.attachment
    if kind == "and":
        return all(reference(k, d) for k in args)
    if kind == "or":
        return any(reference(k, d) for k in args)
    if kind == "not":
        return not reference(args[0], d)
    raise ValueError(kind)


def render(q):
    kind, *args = q
    if kind in ("word",):
        return '"%s"' % args[0] if " " in args[0] else args[0]
    if kind in ("subject", "body"):
        return '%s:"%s"' % (kind, args[0]) if " " in args[0] else "%s:%s" % (kind, args[0])
    if kind in ("from", "to", "after", "before"):
        return "%s:%s" % (kind, args[0])
    if kind == "has":
        return "has:attachment"
    if kind == "and":
        return " ".join(render(k) for k in args)
    if kind == "or":
        return "(" + " OR ".join(render(k) for k in args) + ")"
    if kind == "not":
        return "-" + render(args[0])
    raise ValueError(kind)


def make_queries(docs, index, rng, src):
    data = os.path.join(src, "tools", "mailcorpus", "data")
    en = [w.strip() for w in open(os.path.join(data, "keywords-en.txt"))
          if w.strip() and not w.startswith("#")]
    zh = []
    for line in open(os.path.join(data, "keywords-zh.tsv")):
        if line.strip() and not line.startswith("#"):
            zh += line.rstrip("\n").split("\t")
    qs = [("word", w) for w in en] + [("word", w) for w in zh]
    recs = list(index.values())
    for r in rng.sample(recs, 12):
        qs.append(("from", r["from"]["addr"]))
        if r["to"]:
            qs.append(("to", r["to"][0]["addr"]))
            qs.append(("to", r["to"][0]["addr"].split("@")[1]))
        words = [w for w in tokens(r["subject"]) if len(w) > 3]
        if words:
            qs.append(("subject", rng.choice(words)))
    # date boundaries inside the corpus's span (UTC days), so ranges cut it
    dates = sorted(d.date for d in docs.values())
    first, last = int(dates[0] // 86400), int(dates[-1] // 86400) + 1

    def some_day():
        t = rng.randrange(first, last + 1) * 86400
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")
    for _ in range(6):
        a, b = sorted([some_day(), some_day()])
        qs.append(("and", ("after", a), ("before", b)))
    qs.append(("after", some_day()))
    qs.append(("before", some_day()))
    qs.append(("has",))
    qs.append(("and", ("word", rng.choice(zh)), ("not", ("word", rng.choice(zh)))))
    qs.append(("or", ("word", rng.choice(en)), ("word", rng.choice(zh)), ("word", rng.choice(en))))
    qs.append(("and", ("has",), ("word", rng.choice(en))))
    qs.append(("and", ("from", recs[0]["from"]["addr"].split("@")[1]), ("after", some_day())))
    qs.append(("and", ("word", "合約"), ("before", some_day())))
    qs.append(("body", rng.choice(zh)))
    return qs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--count", type=int, default=500)
    # a new seed each run unless SLUICE_TEST_SEED (or --seed) replays one
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("SLUICE_TEST_SEED") or time.time() % 100000))
    args = ap.parse_args()
    src = os.environ.get("SLUICE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
    corpus_tool = os.environ.get("SLUICE_CORPUS", os.path.join(src, "tools", "corpus"))
    rng = random.Random(args.seed)
    print("seed %d (replay: SLUICE_TEST_SEED=%d), %d messages" % (args.seed, args.seed, args.count))
    work = tempfile.mkdtemp(prefix="sluice-archive-ref-")
    key = os.path.join(work, "archive.key")
    subprocess.run([args.exe, "keygen", key], check=True, stdout=subprocess.DEVNULL)
    os.environ["SLUICE_ARCHIVE_KEY"] = key  # every command reads the key file
    try:
        out = os.path.join(work, "corpus")
        subprocess.run([corpus_tool, "--count", str(args.count), "--seed", str(args.seed),
                        "--out", out, "--duplicates", "0.1", "--reuse-attachments", "0.2"],
                       check=True, stdout=subprocess.DEVNULL)
        files = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".eml"))
        index = {}
        for line in open(os.path.join(out, "index.jsonl")):
            r = json.loads(line)
            index[r["file"]] = r
        listing = os.path.join(work, "files.txt")
        with open(listing, "w") as f:
            f.write("\n".join(files) + "\n")
        data = os.path.join(work, "data")
        subprocess.run([args.exe, "import", "--data", data, "--files-from", listing],
                       check=True, stderr=subprocess.DEVNULL)
        docs = {}
        for path in files:
            with open(path, "rb") as f:
                d = Doc(f.read())
            docs[d.sha] = d
        langs = {}
        for r in index.values():
            langs[r["charset"]] = langs.get(r["charset"], 0) + 1
        print("corpus: %d files, %d distinct messages, charsets %s" % (len(files), len(docs), langs))
        queries = make_queries(docs, index, rng, src)
        bad = 0
        nonempty = 0
        for q in queries:
            text = render(q)
            p = subprocess.run([args.exe, "search", "--data", data, text, "--json",
                                "--limit", "0"], capture_output=True, text=True)
            if p.returncode != 0:
                print("FAIL: %s: %s" % (text, p.stderr.strip()))
                bad += 1
                continue
            got = {json.loads(l)["sha256"] for l in p.stdout.splitlines()}
            want = {sha for sha, d in docs.items() if reference(q, d)}
            nonempty += bool(want)
            if got != want:
                bad += 1
                print("FAIL: %-50s archive %d, reference %d; only archive: %s; only reference: %s"
                      % (text, len(got), len(want), sorted(got - want)[:3], sorted(want - got)[:3]))
            else:
                print("ok:   %-50s %d" % (text, len(got)))
        print("%d queries, %d with results, %d differ" % (len(queries), nonempty, bad))
        if nonempty < len(queries) // 2:
            print("FAIL: too few queries have results to prove anything")
            bad += 1
        sys.exit(1 if bad else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
