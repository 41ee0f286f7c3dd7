"""The tagged catalogue's parts: evidence classes, the choice on validation, thresholds,
decisions, what to expect and the deliverable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msd_tagging import tagged_catalogue, tagging
from msd_tagging.params import BootstrapConfig

TAGS = ["rock", "jazz"]


def _world(n: int = 400, seed: int = 0):
    """Tracks in three splits and outside them, some without audio or plays, with labels
    and scores of an audio, a listening and a fused scorer of known quality."""
    rng = np.random.default_rng(seed)
    ids = [f"T{i:04d}" for i in range(n)]
    split = rng.choice(["train", "valid", "test", "none"], size=n, p=[0.4, 0.2, 0.2, 0.2])
    has_audio = rng.random(n) < 0.8
    has_plays = rng.random(n) < 0.7
    y = (rng.random((n, 2)) < [0.3, 0.1]).astype(np.int8)
    tracks = pd.DataFrame({"track_id": ids, "split": split, "artist": "a", "title": "t", "audio_status": "ok"})
    vectors = pd.DataFrame({"track_id": ids, "cold": ~has_plays})

    def scores(noise: float, mask: np.ndarray) -> pd.DataFrame:
        s = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, noise, y.shape))))
        frame = pd.DataFrame(s, columns=TAGS).assign(track_id=ids)[["track_id", *TAGS]]
        return frame[mask].reset_index(drop=True)

    table = {
        "audio": scores(1.5, has_audio),
        "mf": scores(2.5, has_plays),
        "hybrid": scores(1.0, has_audio),
        "weak_hybrid": scores(4.0, has_audio),
    }
    labels = pd.DataFrame(y, columns=TAGS).assign(track_id=ids)[["track_id", *TAGS]]
    in_split = split != "none"
    return tracks, vectors, table, labels[in_split].reset_index(drop=True), labels


KINDS = {"audio": "audio", "mf": "listening", "hybrid": "fused", "weak_hybrid": "fused"}


def test_every_track_gets_its_evidence_class():
    tracks, vectors, scores, _, _ = _world()
    evidence = tagging.evidence_table(tracks, vectors, scores["audio"])
    audio = tracks["track_id"].isin(scores["audio"]["track_id"]).to_numpy()
    plays = ~vectors["cold"].to_numpy()
    expected = np.select([audio & plays, audio, plays], tagging.EVIDENCE, default="none")
    assert evidence["evidence"].tolist() == expected.tolist()
    assert evidence["track_id"].tolist() == tracks["track_id"].tolist()


def test_each_class_takes_the_best_validation_scorer_of_its_kind():
    tracks, vectors, scores, labels, _ = _world()
    evidence = tagging.evidence_table(tracks, vectors, scores["audio"])
    chosen = tagging.choose(scores, KINDS, evidence, labels)
    assert chosen["audio+listening"]["chosen"] == "hybrid"  # the better of the two fused
    assert set(chosen["audio+listening"]["validation"]) == {"hybrid", "weak_hybrid"}
    assert chosen["audio"]["chosen"] == "audio" and chosen["listening"]["chosen"] == "mf"
    # With no listening scorer declared, the listening class has none.
    assert tagging.choose(scores, {"audio": "audio"}, evidence, labels)["listening"]["chosen"] is None


def test_the_f1_threshold_is_the_best_cut_and_the_precision_one_the_lowest_reaching_it():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    f1 = tagging.fit_threshold(y, s, "f1", 0.0, 1)
    # Cuts: top 2 (P 1, R .5, F1 .67), top 4 (P .75, R .75, F1 .75), top 8 (P .5, R 1, F1 .67).
    assert f1.value == pytest.approx(0.6) and f1.precision == pytest.approx(0.75) and f1.recall == pytest.approx(0.75)
    strict = tagging.fit_threshold(y, s, "precision", 0.9, 1)
    assert strict.value == pytest.approx(0.8) and strict.precision == 1.0
    assert tagging.fit_threshold(y, s, "precision", 1.01, 1).value is None
    few = tagging.fit_threshold(y, s, "f1", 0.0, 5)
    assert few.value is None and "fewer than tagging.min_positives=5" in few.reason


def test_ties_are_cut_together():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.5, 0.5, 0.5, 0.1])
    rule = tagging.fit_threshold(y, s, "f1", 0.0, 1)
    assert rule.value == 0.5 and rule.precision == pytest.approx(2 / 3)


def test_an_undecided_tag_is_never_thresholded():
    p = np.array([[0.9, 0.9], [0.1, np.nan]])
    decided = tagging.decide(p, np.array([0.5, np.nan]))
    assert decided.tolist() == [[1, -1], [0, -1]]


def test_expected_precision_carries_bootstrap_and_wider_prediction_intervals():
    rng = np.random.default_rng(1)
    y = rng.random((2000, 1)) < 0.2
    decided = np.where(y, rng.random(y.shape) < 0.7, rng.random(y.shape) < 0.05)
    weights = np.ones((2000, 1), dtype=np.uint8)
    from msd_tagging.metrics import bootstrap_weights

    weights = bootstrap_weights(2000, 300, 0)
    (row,) = tagging.expectations(y, decided, ["rock"], weights, 0.95, n_new=200, seed=0)
    low, high = row["precision_interval"]
    assert low < row["precision"] < high
    p_low, p_high = row["predicted_precision_interval"]
    assert p_high - p_low > high - low  # 200 new tracks vary more than the estimate on 2000
    assert p_low < row["precision"] < p_high
    tp = int((y & decided).sum())
    assert row["precision"] == pytest.approx(tp / decided.sum()) and row["recall"] == pytest.approx(tp / y.sum())


def _catalogue():
    tracks, vectors, scores, labels, crowd = _world()
    evidence = tagging.evidence_table(tracks, vectors, scores["audio"])
    selection = tagging.choose(scores, KINDS, evidence, labels)
    thresholds = tagging.class_thresholds(selection, evidence, labels, scores, "f1", 0.7, 5)
    parts = tagged_catalogue.class_tags(selection, thresholds, evidence, crowd, scores, TAGS)
    return tracks, evidence, scores, labels, crowd, selection, thresholds, parts


def test_the_long_table_holds_every_track_with_evidence_and_its_decisions():
    tracks, evidence, scores, labels, crowd, selection, thresholds, parts = _catalogue()
    long = tagged_catalogue.long_table(parts, TAGS)
    with_evidence = evidence.loc[evidence["evidence"] != "none", "track_id"]
    assert list(long.columns) == ["track_id", "tag", "probability", "decided", "evidence", "scorer", "crowd_tagged"]
    assert long["track_id"].astype(str).drop_duplicates().tolist() == with_evidence.tolist()  # catalogue order
    assert len(long) == len(with_evidence) * len(TAGS)
    row = long[(long["track_id"] == with_evidence.iloc[0]) & (long["tag"] == "rock")].iloc[0]
    klass = evidence.set_index("track_id").loc[with_evidence.iloc[0], "evidence"]
    name = selection[klass]["chosen"]
    p = scores[name].set_index("track_id").loc[with_evidence.iloc[0], "rock"]
    t = thresholds.set_index(["evidence", "tag"]).loc[(klass, "rock"), "threshold"]
    assert row["scorer"] == name and row["probability"] == pytest.approx(p) and bool(row["decided"]) == (p >= t)
    assert row["crowd_tagged"] == bool(crowd.set_index("track_id").loc[with_evidence.iloc[0], "rock"])


def test_suggestions_are_decided_tags_the_crowd_lacks_ranked_by_expected_precision():
    tracks, evidence, scores, labels, crowd, selection, thresholds, parts = _catalogue()
    expected = {
        "classes": {
            k: tagging.class_expectation(
                k,
                selection[k],
                thresholds,
                evidence,
                labels,
                scores[selection[k]["chosen"]],
                BootstrapConfig(samples=50),
                10,
                0,
            )  # fmt: skip
            for k in tagging.EVIDENCE
        }
    }
    table = tagging.expectation_table(expected)
    out = tagged_catalogue.suggestions(parts, TAGS, tracks, table)
    long = tagged_catalogue.long_table(parts, TAGS)
    wanted = long[long["decided"].fillna(False).astype(bool) & ~long["crowd_tagged"]]
    assert len(out) == len(wanted) and out["rank"].tolist() == list(range(1, len(out) + 1))
    assert out["expected_precision"].is_monotonic_decreasing
    # At most per_track per track: each track keeps its best by expected precision, then probability.
    capped = tagged_catalogue.suggestions(parts, TAGS, tracks, table, per_track=1)
    assert capped["track_id"].is_unique and set(capped["track_id"]) == set(out["track_id"])
    best = out.sort_values(["expected_precision", "probability"], ascending=False, kind="stable")
    best = best.drop_duplicates("track_id").set_index("track_id")
    assert (capped.set_index("track_id").loc[best.index, "tag"].astype(str) == best["tag"].astype(str)).all()
    top = tagged_catalogue.top_tags(parts, TAGS, tracks, k=1)
    assert len(top) == long["track_id"].nunique()
    first = top.iloc[0]
    assert first["tag_1"] in TAGS and first["probability_1"] >= 0
