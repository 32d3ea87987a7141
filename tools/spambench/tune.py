"""Tuning on the training half only (tools/bench spam): the training messages are split
again (by place: one in four validates, the others train a model of their own), and the
values that give the best F1 on the validation quarter are chosen, before the test half
is looked at:
  - the cutoff of the classifier alone;
  - for the imported rules + classifier policy: the probability bands, the score each
    band adds, and the threshold.
Ties go to fewer ham flagged, then to smaller scores (the least change)."""
import bisect
import itertools

from .measure import stats

CUTOFFS = [i / 100 for i in range(5, 100, 5)] + [0.99, 0.999]
THRESHOLDS = (3.0, 4.0, 5.0, 6.0)
P_LOW = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3)
P_MID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
P_HIGH = (0.9, 0.95, 0.99, 0.999)
W_LOW = (0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -5.0)
W_STEP = 0.5


def best_cutoff(prob, labels):
    def key(c):
        _, _, fpr, f1 = stats({f: prob[f] >= c for f in prob}, labels)
        return (f1, -fpr, c)  # the higher cutoff among equals: fewer ham at risk
    return max(CUTOFFS, key=key)


class _Band:
    """Messages of one probability band, sorted by the score they lack to reach the
    threshold: how many spam and ham a band score w flags is two bisections."""
    def __init__(self, need):
        self.spam = sorted(n for n, s in need if s)
        self.ham = sorted(n for n, s in need if not s)

    def flagged(self, w):
        return bisect.bisect_right(self.spam, w), bisect.bisect_right(self.ham, w)


def best_combined(rule_score, prob, labels):
    """The bands and scores added to the imported rules' score (rule_score) and the
    threshold: {"threshold", "p_low", "w_low", "p_mid", "w_mid", "p_high", "w_high"} and
    the validation figures (precision, recall, fpr, f1) they give."""
    files = list(prob)
    nspam = sum(labels[f] for f in files)
    nham = len(files) - nspam
    best = None
    for t, pl, pm, ph in itertools.product(THRESHOLDS, P_LOW, P_MID, P_HIGH):
        if not pl < pm < ph:
            continue
        band = {"low": [], "mid": [], "high": [], "none": []}
        for f in files:
            p = prob[f]
            b = "high" if p >= ph else "mid" if p >= pm else "low" if p < pl else "none"
            band[b].append((t - rule_score[f], labels[f]))
        bands = {b: _Band(v) for b, v in band.items()}
        none = bands["none"].flagged(0.0)
        wmax = t + 3
        ws = [i * W_STEP for i in range(int(wmax / W_STEP) + 1)]
        low = {w: bands["low"].flagged(w) for w in W_LOW}
        mid = {w: bands["mid"].flagged(w) for w in ws}
        high = {w: bands["high"].flagged(w) for w in ws}
        for wl, wm, wh in itertools.product(W_LOW, ws, ws):
            if wh < wm:
                continue
            tp = none[0] + low[wl][0] + mid[wm][0] + high[wh][0]
            fp = none[1] + low[wl][1] + mid[wm][1] + high[wh][1]
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / nspam if nspam else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            key = (f1, -fp, -(abs(wl) + wm + wh), -abs(t - 5.0))
            if best is None or key > best[0]:
                best = (key, dict(threshold=t, p_low=pl, w_low=wl, p_mid=pm, w_mid=wm, p_high=ph,
                                  w_high=wh), (p, r, fp / nham if nham else 0.0, f1))
    return best[1], best[2]


def combined_rules(model, v):
    """The classifier's rules for the chosen values (bands that do not overlap)."""
    return f"""
spam-model "{model}"
rule bayes.high {{ match spam-probability >= {v['p_high']:g} score {v['w_high']:g} }}
rule bayes.mid {{ match m: spam-probability >= {v['p_mid']:g} match h: spam-probability >= {v['p_high']:g} when m and not h score {v['w_mid']:g} }}
rule bayes.low {{ match l: spam-probability >= {v['p_low']:g} when not l score {v['w_low']:g} }}
"""
