"""Would other classifier constants (Robinson's x and s, min_dev) do better? Asked on
the validation quarter only, before Sluice carries such values anywhere: each
validation message's tokens are read back from a one-message model (`sluicectl spam
train --min-count 1`), and engine/policy/bayes_model.c's scoring is redone here for
each set of values. The port is checked against sluicectl's own probabilities first."""
import itertools
import math
import os
import struct

from .measure import run_cpu, stats
from .tune import best_cutoff

ROBX = (0.2, 0.3, 0.4, 0.45, 0.5, 0.52, 0.55, 0.6)
ROBS = (0.0178, 0.05, 0.1, 0.3, 1.0, 3.0)
MIN_DEV = (0.0, 0.1, 0.2, 0.3, 0.375, 0.45)
DEFAULT = (0.52, 0.0178, 0.375)
WORTHWHILE = 0.005  # F1 on the validation quarter a change of constants must gain


def train_options(v):
    return ["--robx", f"{v[0]:g}", "--robs", f"{v[1]:g}", "--min-dev", f"{v[2]:g}"]


def read_model(path):
    with open(path, "rb") as f:
        b = f.read()
    nspam, nham, ntok = struct.unpack_from("<III", b, 16)
    table = {}
    for i in range(ntok):
        h, s, g = struct.unpack_from("<III", b, 64 + 12 * i)
        table[h] = (s, g)
    return nspam, nham, table


def message_tokens(ctl, work, path):
    """The token hashes of one message, as `spam train` counts them."""
    empty = os.path.join(work, "empty.eml")  # the ham a model needs: its tokens have no spam count
    out = os.path.join(work, "one.model")
    run_cpu([ctl, "spam", "train", "--spam", path, "--ham", empty, "--out", out, "--min-count", "1"])
    return [h for h, (s, _) in read_model(out)[2].items() if s]


def chi2_q(x, n):
    m = x / 2
    lm = math.log(m if m > 0 else 1e-300)
    terms = [-m + i * lm - math.lgamma(i + 1.0) for i in range(n)]
    top = max(terms)
    q = math.exp(top + math.log(sum(math.exp(t - top) for t in terms)))
    return min(max(q, 0.0), 1.0)


def probability(counts, nspam, nham, robx, robs, min_dev):
    ln_f = ln_1f = 0.0
    used = 0
    for s, h in counts:
        b, g = s / nspam, h / nham
        n = s + h
        f = (robs * robx + n * (b / (b + g))) / (robs + n)
        if abs(f - 0.5) < min_dev:
            continue
        ln_f += math.log(f)
        ln_1f += math.log(1 - f)
        used += 1
    if not used:
        return 0.5
    return (1 + chi2_q(-2 * ln_f, used) - chi2_q(-2 * ln_1f, used)) / 2


def explore(ctl, work, model, validation, labels, sluice_prob):
    """(default figures, best values, their figures, largest port error): figures are
    (cutoff, precision, recall, fpr, F1) at the best validation cutoff."""
    nspam, nham, table = read_model(model)
    counts = {}
    for f in validation:
        counts[f] = [table[h] for h in message_tokens(ctl, work, os.path.join(work, f)) if h in table]
    err = max(abs(probability(counts[f], nspam, nham, *DEFAULT) - sluice_prob[f]) for f in validation)
    lab = {f: labels[f] for f in validation}

    def figures(v):
        prob = {f: probability(counts[f], nspam, nham, *v) for f in validation}
        cut = best_cutoff(prob, lab)
        return (cut,) + stats({f: prob[f] >= cut for f in validation}, lab)
    base = figures(DEFAULT)
    best, best_fig = DEFAULT, base
    for v in itertools.product(ROBX, ROBS, MIN_DEV):
        fig = figures(v)
        if (fig[4], -fig[3]) > (best_fig[4], -best_fig[3]):
            best, best_fig = v, fig
    return base, best, best_fig, err
