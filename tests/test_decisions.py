"""Decisions with a stated precision (msd_tagging.catalogue): the Learn-Then-Test rule
against MAPIE on the same scores, a known-answer test over 200 seeded draws, and the
calibration, shrinkage and signal pieces. No pipeline runs here."""

from __future__ import annotations

import numpy as np
import pytest

from msd_tagging.catalogue import decisions as D
from msd_tagging.catalogue.calibration import Calibrator, apply, ece, ece_interval, rank_of


def _curve(n: int, rng: np.random.Generator, prevalence: float = 0.3):
    """Labels and scores whose precision above a threshold falls as the threshold does:
    positives score higher on average (a binormal model)."""
    y = rng.random(n) < prevalence
    s = 1 / (1 + np.exp(-np.where(y, rng.normal(1.5, 1, n), rng.normal(-0.5, 1, n))))
    return y, s


def test_the_fixed_sequence_matches_mapies_controller_on_the_same_scores():
    """MAPIE 1.6's BinaryClassificationController, precision at 0.7 with 90 % confidence,
    fixed-sequence testing over the same thresholds from the highest down: the same lowest
    valid threshold."""
    mapie = pytest.importorskip("mapie.risk_control")
    for seed in range(5):
        y, s = _curve(600, np.random.default_rng(seed))
        ours = D.certify(y, s, 0.7, 0.1, first=40, ratio=1.2)
        counts = D.decision_counts(len(s), 40, 1.2)
        thresholds = np.sort(s)[::-1][counts - 1]  # the thresholds our sequence tests, highest first
        controller = mapie.BinaryClassificationController(
            predict_function=lambda x: np.column_stack([1 - x, x]),
            risk="precision",
            target_level=0.7,
            confidence_level=0.9,
            list_predict_params=np.sort(thresholds),
            fwer_method=mapie.FWERFixedSequenceTesting(n_starts=1),
        )
        with _quiet():
            controller.calibrate(s, y.astype(int))
        valid = np.asarray(controller.valid_predict_params, dtype=float)
        if np.isfinite(ours.threshold):
            assert valid.size and valid.min() == pytest.approx(ours.threshold), seed
        else:
            assert not valid.size, seed


class _quiet:
    """MAPIE warns when the empirical risk is not monotone in the threshold (it rarely is)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def test_certified_precision_holds_on_new_tracks_in_at_least_1_minus_delta_minus_005_of_200_draws():
    """A known precision curve: 200 seeded draws of 800 labelled tracks, each certified at
    0.7 with delta 0.1 (the default margin starts the sequence at 138 decisions), its
    threshold applied to 20,000 new tracks of the same world. The precision they get reaches
    the target in at least 1 - delta - 0.05 of the draws."""
    target, delta, reached, certified = 0.7, 0.1, 0, 0
    settings = D.RuleSettings(target=target, delta=delta)
    for seed in range(200):
        rng = np.random.default_rng(seed)
        y, s = _curve(800, rng)
        result = D.certify(y, s, target, delta, settings.first, settings.ratio)
        if not np.isfinite(result.threshold):
            reached += 1  # no decision: no precision broken
            continue
        certified += 1
        new_y, new_s = _curve(20_000, rng)
        decided = new_s >= result.threshold
        reached += new_y[decided].mean() >= target
    assert certified >= 150  # the world is certifiable: the test is about decisions, not abstentions
    assert reached / 200 >= 1 - delta - 0.05


def test_a_pooled_class_decides_only_tags_with_signal_and_their_own_precision():
    """Three tags in one class: a strong one, one the scorer cannot find (no signal), and
    one whose scores run high but are mostly wrong. Only the strong one is decided, and the
    others say why."""
    rng = np.random.default_rng(0)
    n = 800
    y = rng.random((n, 3)) < [0.3, 0.2, 0.3]
    strong = np.where(y[:, 0], rng.normal(2, 1, n), rng.normal(-1, 1, n))
    noise = rng.normal(0, 1, n)  # no signal
    inflated = np.where(y[:, 2], rng.normal(0.3, 1, n), rng.normal(0, 1, n)) + 3  # high scores, little signal
    s = 1 / (1 + np.exp(-np.column_stack([strong, noise, inflated])))
    fitted = D.ClassDecisions(D.RuleSettings(target=0.7)).fit(y, s)
    assert np.isfinite(fitted.thresholds_[0]) and not np.isfinite(fitted.thresholds_[1:]).any()
    assert fitted.reasons_[1] == "no_signal" and fitted.reasons_[2] in ("no_signal", "below_target")
    decided = D.decide(fitted.calibrator_.rank(s), fitted.thresholds_)
    assert y[decided[:, 0], 0].mean() >= 0.7


def test_shrinkage_never_promises_one_on_a_handful_and_keeps_many_near_their_rate():
    prior = D.Shrunk.fit(np.array([40, 30, 3]), np.array([50, 40, 3]))
    mean = prior.mean(np.array([40, 30, 3]), np.array([50, 40, 3]))
    assert mean[2] < 0.95  # three right of three: pulled toward the class
    assert abs(mean[0] - 0.8) < 0.03  # forty of fifty: its own rate
    assert prior.lower(3, 3, 0.9) < prior.mean(3, 3) < prior.interval(3, 3, 0.95)[1]


def test_the_fixed_sequence_starts_where_a_margin_could_be_certified():
    assert D.smallest_certifiable(0.7, 0.1) == 7  # 0.7^7 < 0.1 < 0.7^6
    settings = D.RuleSettings(target=0.7, delta=0.1, margin=0.08)
    assert settings.first == pytest.approx(54, abs=1)
    counts = D.decision_counts(1000, settings.first, 1.2)
    assert counts[0] == settings.first and np.all(np.diff(counts) >= 1) and counts[-1] <= 1000
    assert D.needed_positives(0.65, 10, 10, 0.7, 0.1) is None  # below the target: more labels will not help
    assert D.needed_positives(0.9, 10, 10, 0.7, 0.1) >= 10
    assert D.needed_positives(0.7 + 1e-9, 10, 10, 0.7, 0.1) is None  # a hair above: no count would do


def test_the_calibration_is_increasing_per_tag_and_reproduced_from_its_description():
    rng = np.random.default_rng(1)
    y = rng.random((500, 4)) < [0.1, 0.3, 0.5, 0.2]
    s = 1 / (1 + np.exp(-np.where(y, rng.normal(1, 1, y.shape), rng.normal(-1, 1, y.shape))))
    s[:, 3] = np.clip(s[:, 3] + 0.4, 0, 1)  # one tag's scores run high
    calibrator = Calibrator().fit(s, y)
    p = calibrator.transform(s)
    for j in range(4):
        order = np.argsort(s[:, j])
        assert np.all(np.diff(calibrator.rank(s)[order, j]) >= 0) and np.all(np.diff(p[order, j]) >= -1e-12)
    description = calibrator.describe()
    np.testing.assert_allclose(apply(description, s), p, atol=1e-12)
    np.testing.assert_allclose(rank_of(description, s), calibrator.rank(s), atol=1e-12)
    assert ece(p.ravel(), y.ravel()) < ece(s.ravel(), y.ravel())  # better calibrated than the raw scores
    interval = ece_interval(p, y, np.ones_like(y), 100, 0, 0.95)
    assert 0 <= interval["low"] <= interval["ece"] <= interval["high"] and interval["pairs"] == y.size


def test_grouped_steps_keep_the_rank_and_stop_under_promising_the_better_tags():
    """Three tags the scorer finds well and three it barely finds share one calibration:
    high on the rank, the pooled steps promise the good tags too little and the others too
    much, on fresh tracks. Steps per group match each group's share there; the rank, and
    with it every threshold, is unchanged."""
    rng = np.random.default_rng(5)

    def draw(n):
        y = rng.random((n, 6)) < 0.2
        spread = np.array([2.5, 2.5, 2.5, 0.6, 0.6, 0.6])
        return y, 1 / (1 + np.exp(-(np.where(y, spread, -spread) / 2 + rng.normal(0, 1, y.shape))))

    y, s = draw(3000)
    fresh_y, fresh_s = draw(20000)
    groups = np.array([1, 1, 1, 0, 0, 0])
    pooled = Calibrator().fit(s, y)
    grouped = Calibrator().fit(s, y, groups)
    np.testing.assert_array_equal(pooled.rank(fresh_s), grouped.rank(fresh_s))
    high = pooled.rank(fresh_s) >= np.quantile(pooled.rank(fresh_s), 0.9)
    good, other = high & (groups == 1)[None, :], high & (groups == 0)[None, :]
    p, q = pooled.transform(fresh_s), grouped.transform(fresh_s)
    assert p[good].mean() - fresh_y[good].mean() < -0.05 and p[other].mean() - fresh_y[other].mean() > 0.05
    assert abs(q[good].mean() - fresh_y[good].mean()) < 0.03 and abs(q[other].mean() - fresh_y[other].mean()) < 0.03
    description = grouped.describe()
    np.testing.assert_allclose(apply(description, fresh_s), q, atol=1e-12)
    old = {k: v for k, v in pooled.describe().items() if k not in ("steps", "groups")}  # a map saved before groups
    old.update(isotonic_x=pooled.steps_[0][0].tolist(), isotonic_y=pooled.steps_[0][1].tolist())
    np.testing.assert_allclose(apply(old, fresh_s), p, atol=1e-12)
    with pytest.raises(ValueError, match="6 tags"):
        Calibrator().fit(s, y, groups[:3])


def test_the_decided_tags_probabilities_match_their_precision_on_fresh_tracks():
    """Four tags the scorer finds well, four it finds fairly and four it barely finds: the
    certified rule decides the good ones. With one calibration for the class's tags their
    probabilities fall well short of their precision on fresh tracks; with each group's
    steps fitted on held-out pairs (the default) they match it."""
    spread = np.array([3.0] * 4 + [1.5] * 4 + [0.5] * 4)

    def draw(rng, n):
        y = rng.random((n, len(spread))) < 0.15
        return y, 1 / (1 + np.exp(-(np.where(y, spread, -spread) / 2 + rng.normal(0, 1, y.shape))))

    gaps = {"held_out": [], "class": []}
    for seed in range(4):
        rng = np.random.default_rng(seed)
        (y, s), (fresh_y, fresh_s) = draw(rng, 800), draw(rng, 20000)
        for how in gaps:
            fitted = D.ClassDecisions(D.RuleSettings(target=0.7, calibrate_by=how)).fit(y, s)
            decided = D.decide(fitted.calibrator_.rank(fresh_s), fitted.thresholds_)
            assert decided.sum() > 1000
            gaps[how].append(fitted.calibrator_.transform(fresh_s)[decided].mean() - fresh_y[decided].mean())
    assert np.abs(gaps["held_out"]).max() < 0.04
    assert np.max(gaps["class"]) < -0.08


def test_a_tag_without_an_out_of_fold_decision_of_its_own_is_not_decided():
    """A tag needs out-of-fold decisions of its own to pass the per-tag check, and what to
    expect is measured at the threshold it is decided at. Without that, world 20's tag 9
    had no out-of-fold decision, passed on the class's prior alone, and was decided at the
    lower threshold of the tags left: 3 right of its 6 labelled decisions at a target of 0.6."""
    for seed in (19, 20, 21):
        rng = np.random.default_rng(seed)
        spread, rate = rng.uniform(0.3, 3.0, 20), rng.uniform(0.02, 0.2, 20)
        y = rng.random((600, 20)) < rate
        s = 1 / (1 + np.exp(-(np.where(y, spread, -spread) / 2 + rng.normal(0, 1, y.shape))))
        fitted = D.ClassDecisions(D.RuleSettings(target=0.6)).fit(y, s)
        decided = np.isfinite(fitted.thresholds_)
        assert decided.any()
        correct, decisions = np.where(decided, fitted.correct_, 0), np.where(decided, fitted.decisions_, 0)
        shrunk = D.Shrunk.fit(correct, decisions).mean(correct, decisions)  # among the tags decided together
        assert np.all(fitted.decisions_[decided] > 0), seed
        assert shrunk[decided].mean() >= 0.6, seed  # at the threshold they are decided at, together


def test_a_top_step_of_a_few_right_pairs_does_not_say_certain():
    """Isotonic regression gives the top step of three right pairs a probability of 1.0;
    the smoothed steps pull it toward the class's rate and stay increasing."""
    rng = np.random.default_rng(2)
    y = rng.random((300, 2)) < 0.2
    s = np.clip(np.where(y, 0.6, 0.4) + rng.normal(0, 0.15, y.shape), 0.01, 0.9)
    s[:3, 0], y[:3, 0] = 0.99, True  # three pairs far above the rest, all right
    calibrator = Calibrator().fit(s, y)
    p = calibrator.transform(s)
    assert p.max() < 0.95 and np.all(np.diff(calibrator.steps_[0][1]) >= 0)
    assert abs(p.mean() - y.mean()) < 0.01  # the smoothing keeps the mean where the labels are
    unsmoothed = Calibrator(prior=0.0).fit(s, y).transform(s)
    assert unsmoothed.max() == 1.0  # what the smoothing is for


def test_the_lift_bound_is_below_the_lift_and_nan_without_decisions():
    assert D.lift_bound(8, 10, 0.2, 0.9) < 0.8 / 0.2
    assert np.isnan(D.lift_bound(0, 0, 0.2, 0.9))
