"""The SMTP conversation around a crafted attack (craft.CraftedFlow): connect, EHLO,
MAIL/RCPT/DATA, and the end (the answers to the end of data, QUIT). Each step records
what the server said in a result dict; a refused step stops the session with
result["error"].
"""
import time

EHLO = "EHLO crafted.example.org"
MAIL = "MAIL FROM:<alice@example.org>"
RCPT = "RCPT TO:<bob@example.net>"


def add_flow_options(parser):
    """The options that say where crafted sessions go (lab.sh passes them)."""
    for opt in ("--iface", "--src", "--dst", "--src-mac", "--dst-mac", "--results"):
        parser.add_argument(opt, required=True)
    parser.add_argument("cases", nargs="*")


def new_result(name, flow):
    return {"case": name, "client": [flow.src, flow.sport], "steps": [], "end_replies": []}


def run(flow, result, play):
    """PLAY(flow, result), then the flow reset (unless the server closed) and closed."""
    try:
        play(flow, result)
    except ConnectionError as e:
        result["error"] = str(e)
    finally:
        result["reset_by_server"] = flow.rst
        result["closed_by_server"] = flow.fin
        if not flow.fin:
            flow.abort()
        flow.close_socket()
    return result


def step(flow, result, line, ok=lambda code: code < 400):
    r = flow.command(line)
    result["steps"].append([line.split()[0].split(":")[0], r])
    if r is None or not ok(r[0]):
        result["error"] = f"{line[:40]} answered {r}"
        return False
    return True


def greet(flow, result):
    """Connect, the greeting, EHLO."""
    flow.connect()
    result["steps"].append(["CONNECT", flow.wait_reply()])
    return step(flow, result, EHLO)


def transaction(flow, result):
    """MAIL, RCPT, DATA up to the 354."""
    return (step(flow, result, MAIL) and step(flow, result, RCPT) and
            step(flow, result, "DATA", lambda code: code == 354))


def begin(flow, result):
    """Everything up to the 354: the message's bytes go next."""
    return greet(flow, result) and transaction(flow, result)


def end(flow, result, quiet=1.0):
    """The answers to the end of data, then QUIT when the connection is still open."""
    result["end_replies"] = flow.collect(quiet=quiet)
    if not (flow.fin or flow.rst):
        result["quit"] = flow.command("QUIT", timeout=3)


def send_schedule(flow, schedule, data):
    """DATA's bytes as the crafted segments of SCHEDULE ((offset, bytes), in order of
    sending), then what the server still lacks, as a real sender would resend it."""
    base = flow.snd_nxt
    for off, seg in schedule:
        flow.send_segment(off, seg, base)
        time.sleep(0.002)
    flow.snd_nxt = base + len(data)
    return flow.complete(base, data)
