"""Probabilities that mean what they say: one map per evidence class from its scorer's
scores to probabilities, fitted on the class's held-out labelled (track, tag) pairs, all
tags together; and how well calibrated they are.

A class's labelled tracks are too few to calibrate each tag alone (a few positives each),
so the tags share a calibration with a per-tag offset (:class:`Calibrator`). The map is
increasing in each tag's score: a tag's ROC-AUC, PR-AUC, and which of its tracks a
threshold decides, are the same on either scale. The offsets make pairs of different tags
comparable: one tag whose scores run high (``pop`` on a small example world, 28 % right
among the class's top 60 pairs) no longer fills the top of the class's ranking. They are
shrunk toward the class's (``c`` 0.1): less shrinkage overfits a few positives (measured
in benchmarks/results/tag_completion.md).

The second stage, rank to probability, is fitted per group of tags: the tags the class
decides, and the others (:meth:`Calibrator.fit_steps`, or :func:`steps_of` on pairs chosen
elsewhere: :mod:`~msd_tagging.catalogue.decisions` fits them on held-out pairs). One step
function for all tags under-promised the decided ones: the per-tag check decides the tags
that beat the class's shared calibration, so at the same rank a decided tag is right more
often than the others (on a catalogue with 800 validation tracks, the decided tags'
probabilities ran 0.02 to 0.08 below their realised share, the others' above it by as
much). The rank, and with it every decision, is the same whatever the groups.

The expected calibration error (ECE) is measured on held-out pairs: equal-mass bins of
predicted probability, the mean gap between each bin's mean prediction and its share of
positives, weighted by the bin's size, with a bootstrap interval over tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = 1e-6


def logit(s: np.ndarray) -> np.ndarray:
    s = np.clip(np.asarray(s, dtype=np.float64), EPS, 1 - EPS)
    return np.log(s) - np.log1p(-s)


@dataclass
class Calibrator:
    """An evidence class's map from its scorer's scores to probabilities, pooled over its
    tags (see the module), in two stages, both scikit-learn:

    1. ``rank``: Platt scaling with a per-tag offset (``LogisticRegression`` on the score's
       logit and the tag, the offsets shrunk toward the class's by ``c``): a score
       comparable across the class's tags, increasing in each tag's own score.
    2. ``transform``: ``IsotonicRegression`` of the labels on that rank, per group of tags
       (one group unless :meth:`fit_steps` is given groups): probabilities that match the
       group's share of positives, with no shape imposed. Each step's share is then
       smoothed by ``prior`` pseudo-pairs at the group's rate, and the steps made
       increasing again (weighted by their pairs): the top step of a handful of pairs, all
       right, says 1.0 unsmoothed, which no tagger earns.

    Attributes:
        c: the inverse L2 strength of the first stage (small: offsets near the class's).
        prior: pseudo-pairs at the group's rate added to each isotonic step.
        slope_, offsets_: the first stage (``offsets_`` ``[tags]``, intercept included).
        groups_: ``[tags]`` each tag's group, an index into ``steps_``.
        steps_: per group, the second stage's step function of the rank, ``(x, y)``.
    """

    c: float = 0.1
    prior: float = 1.0
    slope_: float = field(init=False, default=np.nan)
    offsets_: np.ndarray = field(init=False, default=None)
    groups_: np.ndarray = field(init=False, default=None)
    steps_: list = field(init=False, default=None)

    def fit(self, scores: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None) -> Calibrator:
        """Fit on ``scores`` and 0/1 ``labels`` ``[n, tags]`` (NaN scores left out), the
        second stage per ``groups`` (see :meth:`fit_steps`)."""
        from sklearn.linear_model import LogisticRegression

        s, y = np.asarray(scores, float), np.asarray(labels).astype(np.int8)
        kept = np.isfinite(s).ravel()
        if not kept.any() or y.ravel()[kept].min() == y.ravel()[kept].max():  # one class: a flat first stage
            self.slope_, self.offsets_ = 0.0, np.zeros(s.shape[1])
        else:
            model = LogisticRegression(C=self.c, max_iter=2000).fit(_design(s)[kept], y.ravel()[kept])
            self.slope_ = float(model.coef_[0, 0])
            self.offsets_ = model.coef_[0, 1:] + model.intercept_[0]
        return self.fit_steps(s, y, groups)

    def fit_steps(self, scores: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None) -> Calibrator:
        """Fit the second stage again, one step function per group of tags (``groups``
        ``[tags]``, small integers; ``None``: one group), each on its own tags' pairs. The
        first stage, and so the rank and every threshold on it, stays as it is."""
        s, y = np.asarray(scores, float), np.asarray(labels).astype(np.int8)
        tags = s.shape[1]
        groups = np.zeros(tags, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
        if groups.shape != (tags,) or groups.min(initial=0) < 0:
            raise ValueError(f"groups must give each of the {tags} tags a group index >= 0, got {groups!r}")
        rank = self.rank(s)
        self.groups_ = groups
        self.steps_ = []
        for g in range(int(groups.max(initial=0)) + 1):
            mine = groups == g
            r, outcome = rank[:, mine].ravel(), y[:, mine].ravel()
            finite = np.isfinite(r)
            self.steps_.append(steps_of(r[finite], outcome[finite], self.prior))
        return self

    def rank(self, scores: np.ndarray) -> np.ndarray:
        """The first stage ``[n, tags]``: a logit comparable across tags (NaN stays NaN)."""
        return self.slope_ * logit(scores) + self.offsets_[None, :]

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``[n, tags]`` (NaN where the score is NaN)."""
        return probability_by_group(self.rank(scores), self.groups_, self.steps_)

    def describe(self) -> dict:
        """The fitted map as JSON data (what the run saves and :func:`apply` reads)."""
        return {
            "method": "platt per-tag offset, then isotonic per group of tags (steps smoothed)",
            "c": self.c,
            "prior": self.prior,
            "slope": self.slope_,
            "offsets": [float(v) for v in self.offsets_],
            "groups": [int(g) for g in self.groups_],
            "steps": [{"x": x.tolist(), "y": y.tolist()} for x, y in self.steps_],
        }


def steps_of(rank: np.ndarray, outcome: np.ndarray, prior: float) -> tuple[np.ndarray, np.ndarray]:
    """One group's second stage: isotonic steps of ``outcome`` on ``rank`` (1-D), smoothed
    (see :func:`_smoothed_steps`); its rate everywhere when the group's labels are all one
    value (or it has no pairs: 0)."""
    from sklearn.isotonic import IsotonicRegression

    if not len(outcome) or outcome.min() == outcome.max():
        rate = float(outcome.mean()) if len(outcome) else 0.0
        return np.array([0.0, 1.0]), np.array([rate, rate])
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(rank, outcome)
    return np.asarray(isotonic.X_thresholds_, float), _smoothed_steps(isotonic, rank, float(outcome.mean()), prior)


def _smoothed_steps(isotonic, rank: np.ndarray, rate: float, prior: float) -> np.ndarray:
    """The isotonic fit's step values, each step's share of positives smoothed by ``prior``
    pseudo-pairs at ``rate``, then made non-decreasing again by weighted pooling
    (scikit-learn's ``isotonic_regression``, each step weighted by its pairs)."""
    from sklearn.isotonic import isotonic_regression

    values = isotonic.y_thresholds_
    fitted = isotonic.predict(rank)
    steps, pairs = np.unique(fitted, return_counts=True)
    n = pairs[np.clip(np.searchsorted(steps, values), 0, len(steps) - 1)].astype(np.float64)
    shared = np.array([np.count_nonzero(values == v) for v in values], dtype=np.float64)  # a step's points share it
    smoothed = (values * n + prior * rate) / (n + prior)
    return isotonic_regression(smoothed, sample_weight=n / shared, y_min=0.0, y_max=1.0)


def _design(s: np.ndarray):
    """The first stage's features of ``[n, tags]`` scores: the logit, then each tag's indicator."""
    from scipy import sparse

    n, tags = s.shape
    tag = np.tile(np.arange(tags), n)
    z = np.nan_to_num(logit(s).ravel())
    return sparse.hstack(
        [
            sparse.csr_matrix(z[:, None]),
            sparse.csr_matrix((np.ones(n * tags), (np.arange(n * tags), tag)), shape=(n * tags, tags)),
        ],
        format="csr",
    )


def probability_of(rank: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The isotonic stage (its fitted steps ``x``, ``y``) at ``rank`` (NaN stays NaN)."""
    rank = np.asarray(rank, float)
    out = np.interp(np.nan_to_num(rank), np.asarray(x, float), np.asarray(y, float))
    return np.where(np.isfinite(rank), out, np.nan)


def rank_of(description: dict, scores: np.ndarray) -> np.ndarray:
    """The first stage of a saved map (:meth:`Calibrator.describe`) at ``scores`` ``[n, tags]``."""
    return description["slope"] * logit(scores) + np.asarray(description["offsets"], float)[None, :]


def ece(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of paired ``probability`` and 0/1 ``outcome`` (1-D),
    equal-mass bins; ``nan`` without pairs."""
    probability, outcome = np.asarray(probability, float), np.asarray(outcome, float)
    if not len(probability):
        return np.nan
    order = np.argsort(probability, kind="stable")
    total = 0.0
    for part in np.array_split(order, min(bins, len(order))):
        total += len(part) * abs(probability[part].mean() - outcome[part].mean())
    return total / len(probability)


def reliability(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> list[dict]:
    """The reliability diagram's points: per equal-mass bin, the mean prediction, the share
    of positives and the pairs in it."""
    probability, outcome = np.asarray(probability, float), np.asarray(outcome, float)
    order = np.argsort(probability, kind="stable")
    return [
        {"predicted": float(probability[p].mean()), "observed": float(outcome[p].mean()), "pairs": int(len(p))}
        for p in np.array_split(order, min(bins, len(order)))
        if len(p)
    ]


def probability_by_group(rank: np.ndarray, groups: np.ndarray, steps: list) -> np.ndarray:
    """The second stage at ``rank`` ``[n, tags]``: each tag's group's steps (``groups``
    ``[tags]`` indexes ``steps``, a list of ``(x, y)``)."""
    rank = np.asarray(rank, float)
    out = np.full(rank.shape, np.nan)
    groups = np.asarray(groups, dtype=np.int64)
    for g, (x, y) in enumerate(steps):
        mine = groups == g
        out[:, mine] = probability_of(rank[:, mine], x, y)
    return out


def apply(description: dict, scores: np.ndarray) -> np.ndarray:
    """A saved map (:meth:`Calibrator.describe`) applied to ``scores`` ``[n, tags]``."""
    rank = rank_of(description, scores)
    if "steps" not in description:  # a map saved before the steps were grouped: one group
        return probability_of(rank, description["isotonic_x"], description["isotonic_y"])
    steps = [(np.asarray(s["x"], float), np.asarray(s["y"], float)) for s in description["steps"]]
    return probability_by_group(rank, description["groups"], steps)


def ece_interval(
    probability: np.ndarray,
    outcome: np.ndarray,
    mask: np.ndarray,
    samples: int,
    seed: int,
    confidence: float,
    bins: int = 10,
) -> dict:
    """ECE of the pairs ``mask`` marks ``[n, tags]``, with a bootstrap interval over tracks
    (rows): ``{"ece", "low", "high", "pairs"}``. The bins are the equal-mass bins of all the
    marked pairs; each resample reweighs the pairs by their track's multiplicity, so a
    resample costs one pass over the pairs (a million pairs, 200 resamples: seconds)."""
    from msd_tagging.core.metrics import bootstrap_weights, interval

    mask = np.asarray(mask, dtype=bool) & np.isfinite(probability)
    rows, cols = np.nonzero(mask)
    p, o = probability[rows, cols], np.asarray(outcome, float)[rows, cols]
    out = {"ece": ece(p, o, bins), "low": None, "high": None, "pairs": int(len(p))}
    if not samples or not len(p):
        return out
    order = np.argsort(p, kind="stable")
    bin_of = np.empty(len(p), dtype=np.int64)
    for b, part in enumerate(np.array_split(order, min(bins, len(order)))):
        bin_of[part] = b
    weights = bootstrap_weights(len(probability), samples, seed)
    draws = np.empty(samples)
    for k in range(samples):
        w = weights[rows, k].astype(np.float64)
        gap = np.bincount(bin_of, w * p, minlength=bins) - np.bincount(bin_of, w * o, minlength=bins)
        draws[k] = np.abs(gap).sum() / max(w.sum(), 1.0)
    low, high = interval(draws, confidence, centre=out["ece"])  # a resample's ECE runs high: centred, then kept >= 0
    return {**out, "low": max(low, 0.0), "high": high}
