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
    2. ``transform``: ``IsotonicRegression`` of the labels on that rank, all pairs together:
       probabilities that match the share of positives, with no shape imposed. Each step's
       share is then smoothed by ``prior`` pseudo-pairs at the class's rate, and the steps
       made increasing again (weighted by their pairs): the top step of a handful of pairs,
       all right, says 1.0 unsmoothed, which no tagger earns.

    Attributes:
        c: the inverse L2 strength of the first stage (small: offsets near the class's).
        prior: pseudo-pairs at the class's rate added to each isotonic step.
        slope_, offsets_: the first stage (``offsets_`` ``[tags]``, intercept included).
        steps_x_, steps_y_: the second stage, a step function of the rank.
    """

    c: float = 0.1
    prior: float = 1.0
    slope_: float = field(init=False, default=np.nan)
    offsets_: np.ndarray = field(init=False, default=None)
    steps_x_: np.ndarray = field(init=False, default=None)
    steps_y_: np.ndarray = field(init=False, default=None)

    def fit(self, scores: np.ndarray, labels: np.ndarray) -> Calibrator:
        """Fit on ``scores`` and 0/1 ``labels`` ``[n, tags]`` (NaN scores left out)."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        s, y = np.asarray(scores, float), np.asarray(labels).astype(np.int8)
        kept = np.isfinite(s).ravel()
        tags = s.shape[1]
        if not kept.any() or y.ravel()[kept].min() == y.ravel()[kept].max():  # one class: its rate everywhere
            self.slope_, self.offsets_ = 0.0, np.zeros(tags)
            rate = float(y.ravel()[kept].mean()) if kept.any() else 0.0
            self.steps_x_, self.steps_y_ = np.array([0.0, 1.0]), np.array([rate, rate])
            return self
        model = LogisticRegression(C=self.c, max_iter=2000).fit(_design(s)[kept], y.ravel()[kept])
        self.slope_ = float(model.coef_[0, 0])
        self.offsets_ = model.coef_[0, 1:] + model.intercept_[0]
        rank, outcome = self.rank(s).ravel()[kept], y.ravel()[kept]
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(rank, outcome)
        self.steps_x_ = isotonic.X_thresholds_
        self.steps_y_ = _smoothed_steps(isotonic, rank, float(outcome.mean()), self.prior)
        return self

    def rank(self, scores: np.ndarray) -> np.ndarray:
        """The first stage ``[n, tags]``: a logit comparable across tags (NaN stays NaN)."""
        return self.slope_ * logit(scores) + self.offsets_[None, :]

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``[n, tags]`` (NaN where the score is NaN)."""
        return probability_of(self.rank(scores), self.steps_x_, self.steps_y_)

    def describe(self) -> dict:
        """The fitted map as JSON data (what the run saves and :func:`apply` reads)."""
        return {
            "method": "platt per-tag offset, then isotonic (steps smoothed)",
            "c": self.c,
            "prior": self.prior,
            "slope": self.slope_,
            "offsets": [float(v) for v in self.offsets_],
            "isotonic_x": self.steps_x_.tolist(),
            "isotonic_y": self.steps_y_.tolist(),
        }


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


def apply(description: dict, scores: np.ndarray) -> np.ndarray:
    """A saved map (:meth:`Calibrator.describe`) applied to ``scores`` ``[n, tags]``."""
    return probability_of(rank_of(description, scores), description["isotonic_x"], description["isotonic_y"])


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
