"""Scorers beyond the paper, fusion and the extended table, on constructed data whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msd_tagging.listening.centroids import centroid_scores, nearest_to_centroids
from msd_tagging.models.classifier import fit_tag_classifier
from msd_tagging.params import ScoringParams
from msd_tagging.pipelines.reporting.nodes import tables_for
from msd_tagging.scoring.evaluation import popularity_bins
from msd_tagging.scoring.scorers import SCORERS, learned_fusion
from msd_tagging.scoring.scores import fit_fusion_weights, fuse

_extended_table = tables_for(SCORERS)[1]


def test_tag_classifier_learns_a_direction_and_picks_c_on_validation():
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 1, size=(600, 20))
    labels = np.column_stack([vectors[:, 0] > 1.0, vectors[:, 1] + vectors[:, 2] > 1.5, np.zeros(600, bool)]).astype(
        int
    )
    model = fit_tag_classifier(vectors[:400], labels[:400], vectors[400:], labels[400:], cs=(0.001, 1.0))
    assert model.c in (0.001, 1.0) and set(model.validation) == {0.001, 1.0}
    assert model.validation[model.c] == max(model.validation.values())
    p = model.predict(vectors[400:])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(labels[400:, 0], p[:, 0]) > 0.97 and roc_auc_score(labels[400:, 1], p[:, 1]) > 0.95
    assert np.allclose(p[:, 2], p[0, 2]) and p[0, 2] < 1e-3  # a tag without positives: its base rate


def _fusion_case(seed=0, n=400):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 2)) < 0.2).astype(int)
    noise = rng.normal(0, 1, size=(n, 4))
    audio = np.column_stack([labels[:, 0] * 0.2, labels[:, 1] * 1.5]) + noise[:, :2]
    listening = np.column_stack([labels[:, 0] * 1.5, labels[:, 1] * 0.2]) + noise[:, 2:]  # knows tag 0 only
    return audio, listening, labels


def test_fusion_weights_follow_which_side_knows_the_tag():
    audio, listening, labels = _fusion_case()
    w_global, weights = fit_fusion_weights(audio, listening, labels, per_tag=True, shrinkage=5)
    assert 0.0 <= w_global <= 1.0
    assert weights[0] > 0.5 > weights[1]  # listening carries tag 0, audio tag 1
    _, flat = fit_fusion_weights(audio, listening, labels, per_tag=False)
    assert np.all(flat == flat[0])


def test_fuse_mixes_per_tag_and_keeps_audio_for_cold_tracks():
    audio = pd.DataFrame({"track_id": ["a", "b"], "x": [0.2, 0.4], "y": [1.0, 0.0]})
    listening = pd.DataFrame({"track_id": ["a"], "x": [0.6], "y": [0.0]})
    out = fuse(audio, listening, np.array([0.5, 0.25])).set_index("track_id")
    assert out.loc["a", "x"] == pytest.approx(0.4) and out.loc["a", "y"] == pytest.approx(0.75)
    assert out.loc["b"].tolist() == [0.4, 0.0]


def _split_frames(audio, listening, labels, splits):
    ids = [f"T{i}" for i in range(len(labels))]
    tags = ["x", "y"]
    frame = lambda a: pd.DataFrame(a, columns=tags).assign(track_id=ids)[["track_id", *tags]]  # noqa: E731
    tracks = pd.DataFrame({"track_id": ids, "split": splits})
    return frame(audio), frame(listening), frame(labels), tracks


def test_learned_fusion_is_fitted_on_validation_only():
    audio, listening, labels = _fusion_case(n=600)
    splits = ["valid"] * 300 + ["test"] * 300
    a, m, y, tracks = _split_frames(audio, listening, labels, splits)
    params = ScoringParams(fusion={"grid_step": 0.05, "shrinkage": 5})
    _, report = learned_fusion(a, m, y, tracks, params, per_tag=True)
    assert report["fitted_on"] == "valid" and report["tracks"] == 300

    scrambled = y.copy()
    scrambled.loc[300:, ["x", "y"]] = 1 - scrambled.loc[300:, ["x", "y"]]  # test labels: no effect
    _, same = learned_fusion(a, m, scrambled, tracks, params, per_tag=True)
    assert same["weights"] == report["weights"]

    swapped = y.copy()
    swapped.loc[:299, ["x", "y"]] = swapped.loc[:299, ["y", "x"]].to_numpy()  # validation labels: they decide
    _, other = learned_fusion(a, m, swapped, tracks, params, per_tag=True)
    assert other["weights"] != report["weights"]


def test_dense_core_drops_the_outlier_from_a_centroid():
    core = np.array([[1.0, 0.0], [0.95, 0.1], [0.9, -0.1], [1.0, 0.05]])
    outlier = np.array([[0.0, 1.0]])  # the tagger liked it, its listeners are elsewhere
    vectors = np.vstack([core, outlier, [[1.0, 0.0]]]).astype(np.float32)
    audio_train = np.array([[0.9], [0.8], [0.85], [0.7], [0.95]])
    train = np.arange(5)
    _, plain = centroid_scores(vectors, train, audio_train, top_n=5)
    _, cleaned = centroid_scores(vectors, train, audio_train, top_n=5, drop_fraction=0.2)
    assert plain[0, 1] > 0.15  # pulled toward the outlier
    np.testing.assert_allclose(cleaned[0], core.mean(axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="drop_fraction"):
        centroid_scores(vectors, train, audio_train, top_n=5, drop_fraction=1.0)


def test_popularity_bins_include_the_cold_bin():
    bins = popularity_bins(pd.Series([0, 1, 5, 19, 20, 500], index=list("abcdef")), [0, 1, 20])
    assert list(bins.cat.categories) == ["0", "1–19", "≥20"]
    assert bins.tolist() == ["0", "1–19", "1–19", "1–19", "≥20", "≥20"]
    with pytest.raises(ValueError, match="start at 0"):
        popularity_bins(pd.Series([1]), [1, 10])


def test_nearest_to_centroids_ranks_by_cosine():
    vectors = np.array([[1, 0], [0, 1], [0.7, 0.7], [2, 0.1]], dtype=np.float32)
    rows, cosines = nearest_to_centroids(vectors, np.array([[1.0, 0.0]]), k=2)
    assert rows[0].tolist() == [0, 3] and cosines[0, 0] == pytest.approx(1.0)


def test_extended_table_gains_and_the_best_fused_scorer_chosen_on_validation():
    def m(roc, pr):
        return {"split": "test", "roc_auc_macro": roc, "pr_auc_macro": pr, "n_tracks_scored": 10, "n_tags_scored": 5}

    # The headline is the fused scorer chosen on validation, even when another does better on test.
    selection = {"audio+listening": {"chosen": "hybrid", "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation",
                                     "validation": {"hybrid": 0.61, "fusion_classifier": 0.58}}}  # fmt: skip
    table, markdown, record = _extended_table(
        selection, audio=m(0.8, 0.3), mf=m(0.7, 0.2), hybrid=m(0.82, 0.33), fusion_classifier=m(0.84, 0.36)
    )
    assert table["scorer"].tolist() == ["audio", "mf", "hybrid", "fusion_classifier"]
    assert table.loc[3, "roc_auc_gain"] == pytest.approx(0.05) and table.loc[3, "pr_auc_gain"] == pytest.approx(0.2)
    assert record["best_fused"] == "hybrid" and record["best_fused_chosen_on"] == "validation"
    assert record["gain_vs_paper"]["pr_auc"] == pytest.approx(0.1 / (0.2830 / 0.2774 - 1))
    assert "| `fusion_classifier` |" in markdown and "+5.0%" in markdown and "on validation" in markdown


def test_fast_ranking_quality_equals_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from msd_tagging.core.metrics import ranking_quality

    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.15
    rows = np.vstack(
        [rng.random(300), np.round(rng.random(300), 1), np.where(y, 0.5, rng.random(300))]
    )  # ties in rows 1, 2
    expected = [0.5 * (roc_auc_score(y, r) + average_precision_score(y, r)) for r in rows]
    np.testing.assert_allclose(ranking_quality(y, rows), expected, rtol=1e-12)
    assert np.isnan(ranking_quality(np.zeros(5), rng.random(5)))


# --- the paired bootstrap ---------------------------------------------------------------


def test_weighted_metrics_equal_scikit_learn_on_every_resample_ties_included():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from msd_tagging.core.metrics import bootstrap_weights, weighted_ranking_metrics

    rng = np.random.default_rng(0)
    for trial in range(12):
        y = rng.random(150) < 0.25
        scores = np.round(rng.random(150) + 0.3 * y, 1)  # many ties
        if trial == 0:
            scores = np.full(150, 0.5)  # one run: everything tied
        weights = bootstrap_weights(150, 5, seed=trial)
        weights[:, 0] = 1  # the sample itself
        roc, ap = weighted_ranking_metrics(y, scores, weights)
        for b in range(5):
            drawn = np.repeat(np.arange(150), weights[:, b])
            assert roc[b] == pytest.approx(roc_auc_score(y[drawn], scores[drawn]), abs=1e-12)
            assert ap[b] == pytest.approx(average_precision_score(y[drawn], scores[drawn]), abs=1e-12)


def test_bootstrap_intervals_contain_the_estimate_and_narrow_as_n_grows():
    from msd_tagging.core.metrics import bootstrap_macro, bootstrap_weights, interval, macro_scores, per_tag_metrics

    rng = np.random.default_rng(1)
    widths = []
    for n in (100, 400, 1600):
        labels = (rng.random((n, 3)) < 0.2).astype(np.int8)
        scores = labels * 0.4 + rng.random((n, 3))
        point = macro_scores(per_tag_metrics(labels, scores, ["a", "b", "c"]))
        roc, ap = bootstrap_macro(labels, scores, bootstrap_weights(n, 400, seed=0))
        for samples, estimate in ((roc, point["roc_auc_macro"]), (ap, point["pr_auc_macro"])):
            low, high = interval(samples)
            assert low < estimate < high
        widths.append(np.subtract(*interval(roc)[::-1]))
    assert widths[0] > widths[1] > widths[2]  # about halves each time n is four times larger
    assert widths[0] / widths[2] == pytest.approx(4, rel=0.5)


def test_a_paired_gain_interval_is_narrower_than_the_two_intervals_apart():
    """The same resampled tracks for both scorers: their shared noise cancels in the gain."""
    from msd_tagging.core.metrics import bootstrap_macro, bootstrap_weights, interval

    rng = np.random.default_rng(2)
    labels = (rng.random((300, 2)) < 0.3).astype(np.int8)
    base = labels * 0.5 + rng.random((300, 2))
    better = base + 0.2 * labels + 0.05 * rng.random((300, 2))
    weights = bootstrap_weights(300, 500, seed=0)
    a, _ = bootstrap_macro(labels, base, weights)
    b, _ = bootstrap_macro(labels, better, weights)
    low, high = interval(b - a)
    assert low > 0  # the gain is real: its interval excludes zero
    assert high - low < (np.subtract(*interval(a)[::-1]) + np.subtract(*interval(b)[::-1])) / 2


def test_a_rare_tag_missing_from_a_resample_counts_at_its_point_value():
    """On two dozen tracks a tag with one positive draws none in a third of the resamples.
    Leaving it out there leans the resamples toward the other tags (here: the easy ones),
    far enough to put the estimate outside its own interval; counted at its point value,
    every resample averages the same tags and the interval holds the estimate."""
    from msd_tagging.core.metrics import bootstrap_macro, bootstrap_weights, interval, macro_scores, per_tag_metrics

    rng = np.random.default_rng(5)
    n = 24
    labels = (rng.random((n, 8)) < 0.4).astype(np.int8)
    labels[:, :4] = 0
    labels[rng.choice(n, 4, replace=False), np.arange(4)] = 1  # four tags with a single positive
    scores = rng.random((n, 8)) + labels[:, :] * np.array([0, 0, 0, 0, 2, 2, 2, 2])  # rare tags: guessed
    per_tag = per_tag_metrics(labels, scores, [str(t) for t in range(8)])
    estimate = macro_scores(per_tag)["pr_auc_macro"]
    weights = bootstrap_weights(n, 1000, seed=0)
    _, leaning = bootstrap_macro(labels, scores, weights)
    _, filled = bootstrap_macro(
        labels, scores, weights, point=(per_tag["roc_auc"].to_numpy(), per_tag["pr_auc"].to_numpy())
    )
    assert not interval(leaning)[0] < estimate  # the estimate falls below the leaning interval
    low, high = interval(filled)
    assert low < estimate < high
