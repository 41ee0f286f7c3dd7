"""Decisions with a stated precision: a certified threshold per evidence class, the lift
every decided tag must show, and the precision to expect per tag.

The default rule (``certified``) decides a (track, tag) pair of an evidence class when the
pair's score reaches the class's threshold: the lowest threshold at which the class's
decisions, all tags together, have a precision of at least ``target`` with confidence
``1 - delta``. It is Learn-Then-Test (Angelopoulos, Bates, Candès, Jordan & Lei 2021) with
fixed-sequence testing: candidate thresholds are the labelled pairs' own scores at decision
counts ``k_0 < k_1 < ...`` that depend on the scores alone (:func:`decision_counts`), tested
from the highest threshold down; each null hypothesis "precision below ``target``" is
rejected by an exact binomial test of the decisions' errors (the binary Bentkus p-value of
MAPIE's ``BinaryClassificationController``) and the sequence stops at its first failure.
``tests/test_decisions.py`` checks it against MAPIE on the same scores, and on scores drawn
from a known precision curve. The sequence starts at ``k_0`` decisions, where a precision
``margin`` above the target could be certified: an earlier start fails on the noise of a
handful of decisions and, the sequence being fixed, stops there.

Why pooled over the class's tags: one tag has a few dozen labelled positives, and
certifying 0.7 at 90 % confidence needs about 30 decisions at an observed precision of 0.85;
on the example catalogue, per-tag certification decided 1 of 50 tags. Pooled, the
evidence is the class's (``benchmarks/results/tag_completion.md`` compares both).

Everything that needs labels is fitted on the held-out labelled tracks of the class
(validation and test together: twice the evidence of validation alone), and what to expect
is measured out of fold (:meth:`ClassDecisions.fit`): each fold is decided by a threshold
and a calibration fitted on the other folds. A tag is decided only where it shows signal
the lower bound of its lift (its precision among its first R tracks, R its positives,
over its base rate) must be above 1, whatever the rule. Under ``certified``, each tag's own
out-of-fold precision at the class's threshold, shrunk toward the class's (a beta-binomial
estimate: three right decisions do not promise 1.0), must reach the target too, from at
least one out-of-fold decision of its own (without one, a tag passed on the class's prior
alone and was then decided at the lower threshold of the tags left: ``hard rock``, 1 right
of 24 labelled decisions, 0 of 14 on hidden tracks of a world); the class's threshold is
then certified again on the tags that are left, and what to expect is measured out of fold
at that threshold. Repeating the check at each new threshold until no tag drops out kept
fewer tags, whose precision overshot the target by 0.03 to 0.06 at 0.6 on the selection
worlds with half the correct decisions, and fell short beyond noise on a fresh world.
The confidence is the class's
(Learn-Then-Test over its pooled decisions); a tag's own is its hierarchical estimate.
Asking each tag's lower bound to reach the target as well decided nothing at 0.7 in 5 of 6
worlds of the example catalogue (``benchmarks/results/tag_completion_selection.md``).

Once the decided tags are known, the calibration's second stage is fitted again per group,
the decided tags and the others. The per-tag check picks the tags that beat the class's
shared calibration, so one step function for all of them (``calibrate_by: class``)
under-promised the decided ones; steps fitted on the decided tags' own pairs
(``decided``) over-promise a little, since those pairs' labels chose them. The default,
``held_out``, fits each group's steps on held-out pairs: in each fold, the tags the
per-tag check keeps on the other folds' counts, at the rank of the calibration fitted
without the fold (:meth:`ClassDecisions._held_out_steps`). Chosen on the selection worlds
(``benchmarks/results/tag_completion_selection.md``).

A leaf: numpy, scipy and scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist
from scipy.stats import binom

RULES = ("certified", "f1", "precision")
MOST_POSITIVES = 1_000_000  # labelled positives beyond which a tag's "needed" says it cannot be certified
CALIBRATE_BY = ("held_out", "decided", "class")  # the calibration's steps per group of tags (RuleSettings)
NO_PROMISE = "no precision promise: F1-optimal on validation"  # what the f1 rule is labelled with everywhere
# Why a (class, tag) pair is undecided, in the report's words.
REASONS = {
    "unseen": "no positive in the training split: the models never saw this tag",
    "few_labels": "too few labels",
    "no_signal": "no signal from audio or listening",
    "below_target": "below the target precision",
}


def p_value(errors: np.ndarray, decisions: np.ndarray, target: float) -> np.ndarray:
    """P(at most ``errors`` wrong among ``decisions``) were the precision exactly ``target``:
    the exact binomial p-value of "precision < target" (MAPIE's binary Bentkus p-value)."""
    return binom.cdf(errors, decisions, 1.0 - target)


def smallest_certifiable(target: float, delta: float) -> int:
    """The fewest decisions that could certify ``target`` at all: all of them right."""
    return max(1, math.ceil(math.log(delta) / math.log(target)))


def decision_counts(n: int, first: int, ratio: float) -> np.ndarray:
    """The decision counts the fixed sequence tests, from ``first`` up to ``n``, each at least
    ``ratio`` times (and one more than) the one before: from the scores' ranks alone, so the
    order of the tests never looks at a label."""
    counts, k = [], first
    while k <= n:
        counts.append(k)
        k = max(k + 1, math.ceil(k * ratio))
    return np.asarray(counts, dtype=np.int64)


@dataclass(frozen=True)
class Certified:
    """One tag's Learn-Then-Test result on one set of labelled tracks.

    Attributes:
        threshold: the lowest certified threshold (``nan``: none).
        decisions, correct: at that threshold, on the tracks it was fitted on.
        tested: how many thresholds were tested before the sequence stopped.
        best_precision: the highest precision among the tested thresholds (for the reason).
    """

    threshold: float
    decisions: int
    correct: int
    tested: int
    best_precision: float


def certify(y: np.ndarray, s: np.ndarray, target: float, delta: float, first: int, ratio: float) -> Certified:
    """Learn-Then-Test with fixed-sequence testing for one tag: labels ``y`` and scores ``s``
    ``[n]`` of labelled tracks (see the module)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    ordered, hits = s[order], np.cumsum(y[order])
    counts = decision_counts(len(s), first, ratio)
    if not len(counts):
        return Certified(np.nan, 0, 0, 0, np.nan)
    thresholds = ordered[counts - 1]
    decided = np.searchsorted(-ordered, -thresholds, side="right")  # ties at a threshold are decided too
    correct = hits[decided - 1]
    passed = p_value(decided - correct, decided, target) <= delta
    tested = int(np.argmin(passed)) if not passed.all() else len(passed)  # fixed sequence: stop at the first failure
    best = float((correct / decided).max())
    if tested == 0:
        return Certified(np.nan, 0, 0, 1, best)
    last = tested - 1
    return Certified(float(thresholds[last]), int(decided[last]), int(correct[last]), tested, best)


def f1_threshold(y: np.ndarray, s: np.ndarray) -> float:
    """The threshold of highest F1 (ties: the highest threshold); ``nan`` without positives."""
    y = np.asarray(y, dtype=bool)
    if not y.any():
        return np.nan
    order = np.argsort(-np.asarray(s, dtype=np.float64), kind="stable")
    ordered = np.asarray(s, dtype=np.float64)[order]
    ends = np.flatnonzero(np.append(np.diff(ordered) != 0, True))
    tp = np.cumsum(y[order])[ends]
    precision, recall = tp / (ends + 1), tp / y.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(ordered[ends[int(np.argmax(f1))]])


def point_precision_threshold(y: np.ndarray, s: np.ndarray, target: float) -> float:
    """The lowest threshold whose precision reaches ``target`` as a point estimate (the
    rule before ``certified``: the winner's curse on a small validation set); ``nan`` if none."""
    y = np.asarray(y, dtype=bool)
    order = np.argsort(-np.asarray(s, dtype=np.float64), kind="stable")
    ordered = np.asarray(s, dtype=np.float64)[order]
    ends = np.flatnonzero(np.append(np.diff(ordered) != 0, True))
    precision = np.cumsum(y[order])[ends] / (ends + 1)
    reaching = np.flatnonzero(precision >= target)
    return float(ordered[ends[reaching[-1]]]) if len(reaching) else np.nan


def needed_positives(
    best_precision: float, positives: int, decisions_at_best: int, target: float, delta: float
) -> int | None:
    """About how many labelled positives a tag would need for its precision to be certified:
    the decisions a one-sided test at ``1 - delta`` needs to tell ``best_precision`` from the
    target (a normal approximation), scaled by the tag's positives per decision, and more
    than it has. ``None`` when the precision is not above the target (more labels will not
    help)."""
    from scipy.stats import norm

    if not np.isfinite(best_precision) or best_precision <= target or decisions_at_best <= 0:
        return None
    decisions = math.ceil(norm.ppf(1 - delta) ** 2 * target * (1 - target) / (best_precision - target) ** 2)
    decisions = max(decisions, smallest_certifiable(target, delta))
    needed = max(int(math.ceil(decisions * max(positives, 1) / decisions_at_best)), positives + 1)
    return needed if needed <= MOST_POSITIVES else None  # a hair above the target: no catalogue has that many


def lift_bound(correct: int, decisions: int, base_rate: float, confidence: float) -> float:
    """The one-sided lower bound of the lift (precision / base rate): the Clopper-Pearson
    lower bound of the precision at ``confidence``, over the base rate; ``nan`` without
    decisions."""
    if decisions <= 0 or base_rate <= 0:
        return np.nan
    low = 0.0 if correct == 0 else float(beta_dist.ppf(1 - confidence, correct, decisions - correct + 1))
    return low / base_rate


@dataclass(frozen=True)
class Shrunk:
    """Beta-binomial estimates of per-tag precision: each tag's counts with a prior fitted
    on the class's tags (method of moments), so a tag with few decisions is pulled toward
    the class. ``alpha``, ``beta``: the prior."""

    alpha: float
    beta: float

    @classmethod
    def fit(cls, correct: np.ndarray, decisions: np.ndarray, strength: float = 10.0) -> Shrunk:
        """The prior from tags with decisions: mean from their pooled precision, strength
        from the spread of their precisions beyond binomial noise (at least 2, at most
        ``strength`` when the spread says nothing)."""
        correct, decisions = np.asarray(correct, float), np.asarray(decisions, float)
        seen = decisions > 0
        mean = correct[seen].sum() / decisions[seen].sum() if seen.any() else 0.5
        mean = float(np.clip(mean, 0.01, 0.99))
        kappa = strength
        if seen.sum() >= 3:
            rates = correct[seen] / decisions[seen]
            noise = np.mean(mean * (1 - mean) / decisions[seen])
            spread = max(float(np.var(rates)) - noise, 1e-6)
            kappa = float(np.clip(mean * (1 - mean) / spread - 1, 2.0, strength))
        return cls(mean * kappa, (1 - mean) * kappa)

    def lower(self, correct, decisions, confidence: float) -> np.ndarray:
        """The one-sided lower bound at ``confidence`` of each tag's precision."""
        a = np.asarray(correct, float) + self.alpha
        return beta_dist.ppf(1 - confidence, a, np.asarray(decisions, float) - np.asarray(correct, float) + self.beta)

    def mean(self, correct, decisions) -> np.ndarray:
        return (np.asarray(correct, float) + self.alpha) / (np.asarray(decisions, float) + self.alpha + self.beta)

    def interval(self, correct, decisions, confidence: float) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(correct, float) + self.alpha
        b = np.asarray(decisions, float) - np.asarray(correct, float) + self.beta
        tail = (1 - confidence) / 2
        return beta_dist.ppf(tail, a, b), beta_dist.ppf(1 - tail, a, b)


@dataclass(frozen=True)
class RuleSettings:
    """What a rule needs (the ``tagging`` parameters): the rule (``certified`` or ``f1``),
    the target precision and ``delta`` (1 - the confidence), the ``margin`` that sizes the
    fixed sequence's start and its growth ``ratio``, the calibration's shrinkage and its
    groups (``calibrate_by``), the folds
    of the out-of-fold estimates and their seed, and the fewest labelled positives the
    ``f1`` rule fits a threshold on."""

    rule: str = "certified"
    target: float = 0.7
    delta: float = 0.1
    margin: float = 0.05
    ratio: float = 1.2
    calibration_c: float = 0.1
    tag_check: str = "mean"  # each decided tag's own shrunk precision: its "mean" (the estimate), or its "lower" bound
    calibrate_by: str = "held_out"  # the calibration's steps per group of tags: one of CALIBRATE_BY
    folds: int = 5
    seed: int = 0
    min_positives: int = 5

    @property
    def first(self) -> int:
        """The fixed sequence's first decision count: where a precision ``margin`` above the
        target would be certified (a normal approximation of the binomial test), and never
        below the fewest decisions that could certify it at all."""
        from scipy.stats import norm

        z = norm.ppf(1 - self.delta)
        wanted = math.ceil(z**2 * self.target * (1 - self.target) / self.margin**2)
        return max(wanted, smallest_certifiable(self.target, self.delta))


def thresholds_for(
    y: np.ndarray, s: np.ndarray, settings: RuleSettings, tags: np.ndarray
) -> tuple[np.ndarray, Certified | None]:
    """Thresholds ``[tags]`` on the raw score from labels ``y`` and scores ``s`` ``[n, tags]``
    (``nan``: undecided): the class's certified threshold on the pairs of the ``tags`` mask,
    or each tag's F1-optimal one."""
    out = np.full(y.shape[1], np.nan)
    if settings.rule == "certified":
        if not tags.any():
            return out, None
        result = certify(
            y[:, tags].ravel(), s[:, tags].ravel(), settings.target, settings.delta, settings.first, settings.ratio
        )
        out[tags] = result.threshold
        return out, result
    for j in np.flatnonzero(tags):
        if int(y[:, j].sum()) >= settings.min_positives:
            out[j] = f1_threshold(y[:, j], s[:, j])
    return out, None


def decide(s: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[n, tags]`` bool: the score reaches its tag's threshold (never where it is ``nan``)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(thresholds)[None, :] & np.isfinite(s) & (s >= thresholds[None, :])


@dataclass
class ClassDecisions:
    """One evidence class's decisions, fitted on its labelled tracks (see the module).

    Attributes (after :meth:`fit`):
        calibrator_: the class's calibration (:class:`~msd_tagging.catalogue.calibration.Calibrator`).
        thresholds_: ``[tags]`` thresholds on the calibrator's rank (``nan``: undecided).
        reasons_: ``[tags]`` the key of :data:`REASONS` for an undecided tag, ``""`` else.
        needed_: ``[tags]`` labelled positives a tag with too few labels would need (0: n/a).
        certified_: the class's Learn-Then-Test result (``None`` for the f1 rule).
        positives_, base_rate_: ``[tags]`` on the labelled tracks.
        lift_low_: ``[tags]`` the lower bound of each tag's lift at the top of its ranking
            (its first R tracks, R its positives): the signal a tag must show.
        correct_, decisions_: ``[tags]`` out-of-fold counts at the class's threshold.
        tag_low_: ``[tags]`` each tag's shrunk out-of-fold precision, its lower bound at
            ``1 - delta``: a certified class decides a tag only where it reaches the target.
        oof_probability_, oof_decided_: ``[n, tags]`` each labelled track's out-of-fold
            calibrated probability and decision.
    """

    settings: RuleSettings

    def fit(self, y: np.ndarray, s: np.ndarray, trained: np.ndarray | None = None) -> ClassDecisions:
        """Fit on labels ``y`` and scores ``s`` ``[n, tags]``; ``trained`` ``[tags]`` marks
        the tags some training track has positive (the others are never decided)."""
        from msd_tagging.catalogue.calibration import Calibrator

        y = np.asarray(y, dtype=bool)
        seen = np.ones(y.shape[1], dtype=bool) if trained is None else np.asarray(trained, dtype=bool)
        self.positives_ = y.sum(axis=0)
        self.base_rate_ = self.positives_ / max(len(y), 1)
        self.lift_low_ = np.array([self._signal(y[:, j], s[:, j], j) for j in range(y.shape[1])])
        signal = seen & (self.lift_low_ > 1)
        self._fit_folds(y, s)
        self._out_of_fold(y, signal)  # each tag at the threshold certified on every tag with signal
        self._screened = self.oof_decided_  # what the per-tag check judges (the calibration's groups too)
        kept = signal
        if self.settings.rule == "certified":
            kept = self._check(self.correct_, self.decisions_, signal)
            failed_correct, failed_decisions = self.correct_[~kept], self.decisions_[~kept]
            self._out_of_fold(y, kept)  # what to expect, at the threshold the kept tags are decided at
            self.correct_[~kept], self.decisions_[~kept] = failed_correct, failed_decisions  # what they were judged on
        prior = Shrunk.fit(self.correct_, self.decisions_)
        self.tag_low_ = prior.lower(self.correct_, self.decisions_, 1 - self.settings.delta)
        self.calibrator_ = Calibrator(self.settings.calibration_c).fit(s, y)
        rank = self.calibrator_.rank(s)
        self.thresholds_, self.certified_ = thresholds_for(y, rank, self.settings, kept)
        self._reasons(y, rank, seen, signal, prior)
        self._calibrate_by_group(y, s, signal)
        return self

    def probability_at(self, thresholds: np.ndarray) -> np.ndarray:
        """The calibrated probability at each tag's threshold ``[tags]`` (on the rank scale)."""
        from msd_tagging.catalogue.calibration import probability_by_group

        at = np.asarray(thresholds, float)[None, :]
        return probability_by_group(at, self.calibrator_.groups_, self.calibrator_.steps_)[0]

    def _calibrate_by_group(self, y: np.ndarray, s: np.ndarray, signal: np.ndarray) -> None:
        """The second stage of the calibration again, per group of tags (see
        :mod:`~msd_tagging.catalogue.calibration`), and the out-of-fold probabilities with it."""
        how = self.settings.calibrate_by
        if how not in CALIBRATE_BY:
            raise ValueError(f"calibrate_by must be one of {', '.join(CALIBRATE_BY)}, got {how!r}")
        groups = (np.isfinite(self.thresholds_) if how != "class" else np.zeros(y.shape[1], bool)).astype(np.int64)
        if how == "held_out":
            return self._held_out_steps(y, s, signal, groups)
        self.calibrator_.fit_steps(s, y, groups)
        for held, train, calibrator, _, _ in self._folds:
            self.oof_probability_[held] = calibrator.fit_steps(s[train], y[train], groups).transform(s[held])

    def _held_out_steps(self, y: np.ndarray, s: np.ndarray, signal: np.ndarray, groups: np.ndarray) -> None:
        """Steps per group from held-out pairs: in each fold, the tags the per-tag check
        chooses on the other folds' out-of-fold counts, and the fold's pairs at the rank of
        the calibration fitted without it. Which tags a pair's group holds never looked at
        the pair's label, so the decided group's steps carry no winner's curse. A fold's
        out-of-fold probabilities come from the other folds' pairs."""
        from msd_tagging.catalogue.calibration import probability_by_group, steps_of

        parts = [(held, held_rank, y[held], self._chosen(y, signal, ~held)) for held, _, _, _, held_rank in self._folds]

        def steps(leave_out: int | None = None) -> list:
            kept = [p for k, p in enumerate(parts) if k != leave_out]
            out = []
            for g in (0, 1):
                rank = np.concatenate([np.empty(0)] + [r[:, c == g].ravel() for _, r, _, c in kept])
                outcome = np.concatenate([np.empty(0, bool)] + [o[:, c == g].ravel() for _, _, o, c in kept])
                if not outcome.any():  # a group with no positive pair: the class's steps
                    rank = np.concatenate([r.ravel() for _, r, _, _ in kept])
                    outcome = np.concatenate([o.ravel() for _, _, o, _ in kept])
                finite = np.isfinite(rank)
                out.append(steps_of(rank[finite], outcome[finite].astype(np.int8), self.calibrator_.prior))
            return out

        self.calibrator_.groups_, self.calibrator_.steps_ = groups, steps()
        for k, (held, rank, _, _) in enumerate(parts):
            self.oof_probability_[held] = probability_by_group(rank, groups, steps(leave_out=k))

    def _chosen(self, y: np.ndarray, signal: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``[tags]`` the tags the per-tag check keeps on the out-of-fold counts of ``rows``
        (at the threshold the check judges at: the held fold's labels play no part)."""
        if self.settings.rule != "certified":
            return signal.copy()
        decided = self._screened[rows]
        return self._check((decided & y[rows]).sum(axis=0), decided.sum(axis=0), signal)

    def _check(self, correct: np.ndarray, decisions: np.ndarray, signal: np.ndarray) -> np.ndarray:
        """``[tags]`` the per-tag check on out-of-fold counts: signal, out-of-fold decisions
        of its own (without one, no evidence), and its shrunk precision (``tag_check``: the
        estimate or its lower bound) at the target."""
        prior = Shrunk.fit(correct, decisions)
        if self.settings.tag_check == "lower":
            own = prior.lower(correct, decisions, 1 - self.settings.delta)
        else:
            own = prior.mean(correct, decisions)
        return signal & (own >= self.settings.target) & (decisions > 0)

    def _signal(self, y: np.ndarray, s: np.ndarray, j: int) -> float:
        """The lower bound of the tag's lift among its top R tracks (R: its positives), on
        labelled tracks no model was fitted on: does the scorer find the tag at all?"""
        positives = int(y.sum())
        if not positives or positives == len(y):
            return np.nan
        top = y[np.argsort(-s, kind="stable")[:positives]]
        return lift_bound(int(top.sum()), positives, self.base_rate_[j], 1 - self.settings.delta)

    def _fit_folds(self, y: np.ndarray, s: np.ndarray) -> None:
        """The folds of the out-of-fold estimates, each with the calibration fitted on the
        other folds, and each labelled track's out-of-fold probability."""
        from msd_tagging.catalogue.calibration import Calibrator

        n = len(y)
        folds = max(2, min(self.settings.folds, n))
        fold = np.random.default_rng(self.settings.seed).permutation(np.arange(n) % folds)
        self.oof_probability_ = np.full(s.shape, np.nan)
        self._folds = []  # (held, train, calibrator, train rank, held rank) per fold
        for k in range(folds):
            train, held = fold != k, fold == k
            if not held.any() or not train.any():
                continue
            calibrator = Calibrator(self.settings.calibration_c).fit(s[train], y[train])
            self._folds.append((held, train, calibrator, calibrator.rank(s[train]), calibrator.rank(s[held])))
            self.oof_probability_[held] = calibrator.transform(s[held])

    def _out_of_fold(self, y: np.ndarray, tags: np.ndarray) -> None:
        """Each fold decided by the thresholds fitted on the other folds for the ``tags``
        mask (the class's certified threshold on those tags' pairs, as the final rule fits
        it): the per-tag check judges every tag with signal this way, and what to expect is
        measured with the tags it keeps."""
        self.oof_decided_ = np.zeros(y.shape, dtype=bool)
        for held, train, _, train_rank, held_rank in self._folds:
            thresholds, _ = thresholds_for(y[train], train_rank, self.settings, tags)
            self.oof_decided_[held] = decide(held_rank, thresholds)
        self.decisions_ = self.oof_decided_.sum(axis=0)
        self.correct_ = (self.oof_decided_ & y).sum(axis=0)

    def _reasons(self, y: np.ndarray, rank: np.ndarray, seen: np.ndarray, signal: np.ndarray, prior: Shrunk) -> None:
        """Why each undecided tag is, and what a tag with too few labels would need."""
        tags = y.shape[1]
        self.reasons_ = np.full(tags, "", dtype=object)
        self.needed_ = np.zeros(tags, dtype=np.int64)
        decided_now = decide(rank, self.thresholds_)
        s = rank
        shrunk = prior.mean(self.correct_, self.decisions_)
        for j in range(tags):
            if np.isfinite(self.thresholds_[j]) and decided_now[:, j].any():
                continue
            self.thresholds_[j] = np.nan  # a class threshold none of the tag's labelled scores reaches decides nothing
            if not seen[j]:
                self.reasons_[j] = "unseen"
            elif not signal[j]:
                self.reasons_[j] = "no_signal"
            elif self.decisions_[j] and shrunk[j] < self.settings.target:
                self.reasons_[j] = "below_target"
            else:
                self.reasons_[j] = "few_labels"
                precision = shrunk[j] if self.decisions_[j] else self._top_precision(y[:, j], s[:, j])
                self.needed_[j] = (
                    needed_positives(
                        precision,
                        int(self.positives_[j]),
                        max(int(self.decisions_[j]), 1),
                        self.settings.target,
                        self.settings.delta,
                    )
                    or 0
                )
                if not self.needed_[j]:
                    self.reasons_[j] = "below_target"

    def _top_precision(self, y: np.ndarray, s: np.ndarray) -> float:
        """The tag's precision among its top few labelled tracks (a tag the class's threshold
        decided nothing of), for how many labels it would need."""
        top = y[np.argsort(-s, kind="stable")[: max(self.settings.first // 4, 5)]]
        return float(top.mean()) if len(top) else np.nan

    def expected(self, confidence: float, strength: float = 10.0) -> dict[str, np.ndarray]:
        """Per tag: the out-of-fold precision shrunk toward the class's (``precision`` with
        ``precision_low``/``precision_high``; a decided tag with no out-of-fold decision of
        its own gets the class's; NaN for an undecided tag with none) and recall (Jeffreys
        interval; exactly 0 for a tag left undecided), ``[tags]``."""
        prior = Shrunk.fit(self.correct_, self.decisions_, strength)
        low, high = prior.interval(self.correct_, self.decisions_, confidence)
        recall = Shrunk(0.5, 0.5)
        r_low, r_high = recall.interval(self.correct_, self.positives_, confidence)
        decided = np.isfinite(self.thresholds_)
        measured = decided | (self.decisions_ > 0)
        return {
            "precision": np.where(measured, prior.mean(self.correct_, self.decisions_), np.nan),
            "precision_low": np.where(measured, low, np.nan),
            "precision_high": np.where(measured, high, np.nan),
            "recall": np.where(decided, recall.mean(self.correct_, self.positives_), 0.0),
            "recall_low": np.where(decided, r_low, 0.0),
            "recall_high": np.where(decided, r_high, 0.0),
        }
