"""SpamAssassin with its Bayes and bogofilter, trained on the bench's training half and
run on its test half: each in a private database under the bench's work directory."""
import json
import os
import re
import subprocess

from .measure import log, run_cpu

# Fewer training messages than SpamAssassin's bayes_min_spam_num/bayes_min_ham_num (200)
# leave its Bayes off; the smoke run's 10 + 10 lower them (and says so).
SMOKE_SA_CF = ["bayes_min_spam_num 5", "bayes_min_ham_num 5"]


def sa_bayes(root, work, train, test, smoke):
    """sa-learn the training half into a private bayes_path (no auto-learn, local tests
    only), then SpamAssassin with Bayes (score set 2) on the test half.
    Returns ({file: score}, CPU seconds of the scan, CPU seconds of the training)."""
    db = os.path.join(work, "sa-bayes")
    os.makedirs(db, exist_ok=True)
    path = os.path.join(db, "bayes")
    cf = SMOKE_SA_CF if smoke else []
    learn_cpu = 0.0
    for cls in ("spam", "ham"):
        cmd = ["sa-learn", "-L", f"--{cls}", "--dbpath", path, "-p", "/dev/null", "--max-size", "0",
               "--cf", "bayes_auto_learn 0", "--cf", "use_auto_welcomelist 0", train[cls]]
        out, cpu, _ = run_cpu(cmd)
        learn_cpu += cpu
        m = re.search(r"\((\d+) message\(s\) examined\)", out.decode())
        if not m or int(m.group(1)) != len(os.listdir(train[cls])):
            raise RuntimeError(f"sa-learn --{cls} did not read the {len(os.listdir(train[cls]))} "
                               f"messages of {train[cls]}: {out.decode().strip()}")
        log(f"sa-learn --{cls}: {out.decode().strip()} ({cpu:.1f} s CPU)")
    cfargs = [a for line in cf for a in ("--cf", line)]
    out, cpu, _ = run_cpu(["perl", os.path.join(root, "tests", "spam", "sa_hits.pl"), "--bayes", path]
                          + cfargs + test, cwd=work)
    results = {}
    for line in out.decode().splitlines():
        v = json.loads(line)
        results[v["file"]] = (v["score"], any(h.startswith("BAYES_") for h in v["hits"]))
    without = sum(1 for _, b in results.values() if not b)
    if without:
        log(f"SpamAssassin with Bayes: {without} of {len(results)} messages got no BAYES_ rule")
    return {f: s for f, (s, _) in results.items()}, cpu, learn_cpu


def bogofilter_constants():
    """bogofilter's robx, robs and min_dev as `bogofilter -C -Q` (no config file) says."""
    out = subprocess.run(["bogofilter", "-C", "-Q"], capture_output=True, check=True).stdout.decode()
    return {k: float(v) for k, v in re.findall(r"^(robx|robs|min_dev)\s*=\s*([0-9.]+)", out, re.M)}


def bogofilter(work, train, test):
    """bogofilter -s / -n on the training half into a private wordlist (-d), then -v on the
    test half: ({file: spamicity}, {file: bogofilter's own Spam verdict}, scan CPU, train CPU)."""
    db = os.path.join(work, "bogofilter")
    os.makedirs(db, exist_ok=True)
    learn_cpu = 0.0
    for cls, opt in (("spam", "-s"), ("ham", "-n")):
        names = sorted(os.path.join(train[cls], n) for n in os.listdir(train[cls]))
        _, cpu, _ = run_cpu(["bogofilter", "-C", "-d", db, opt, "-B"] + names)
        learn_cpu += cpu
    # exit status 0 spam, 1 ham, 2 unsure (the last message's); 3 is an error
    out, cpu, _ = run_cpu(["bogofilter", "-C", "-d", db, "-v", "-B"] + test, check=False, cwd=work)
    spamicity, verdict = {}, {}
    for line in out.decode().splitlines():
        m = re.match(r"^(\S+) X-Bogosity: (Spam|Ham|Unsure), .*spamicity=([0-9.]+)", line)
        if not m:
            raise RuntimeError(f"bogofilter: unexpected output: {line!r}")
        spamicity[m.group(1)] = float(m.group(3))
        verdict[m.group(1)] = m.group(2) == "Spam"
    if set(spamicity) != set(test):
        raise RuntimeError(f"bogofilter classified {len(spamicity)} of {len(test)} messages")
    return spamicity, verdict, cpu, learn_cpu
