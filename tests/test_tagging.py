"""The tagged catalogue's parts: evidence classes, the choice on validation, thresholds,
decisions, what to expect and the deliverable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msd_tagging.catalogue import deliverable as tagged_catalogue
from msd_tagging.catalogue import tagging
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


def test_the_chooser_hands_on_each_classs_chosen_scores_for_its_tracks_and_stand_ins():
    tracks, vectors, scores, labels, _ = _world()
    evidence = tagging.evidence_table(tracks, vectors, scores["audio"])
    selection = tagging.choose(scores, KINDS, evidence, labels)
    chosen = tagging.class_scores(selection, evidence, scores)
    assert list(chosen.columns) == ["evidence", "track_id", *TAGS]
    for klass in tagging.EVIDENCE:
        mine = tagging.scores_of(chosen, klass)
        expected = set(evidence.loc[evidence["evidence"] == klass, "track_id"])
        for split in ("valid", "test"):
            expected |= set(tagging.population(evidence, split, klass))
        assert set(mine["track_id"]) == expected, klass
        truth = scores[selection[klass]["chosen"]].set_index("track_id").loc[mine["track_id"], TAGS]
        np.testing.assert_array_equal(mine[TAGS].to_numpy(), truth.to_numpy())
    # A validation track with audio and plays stands in for all three classes, each by its own scorer.
    both = tagging.population(evidence, "valid", "audio+listening").iloc[0]
    assert set(chosen.loc[chosen["track_id"] == both, "evidence"]) == set(tagging.EVIDENCE)


def test_no_tagging_node_but_the_chooser_reads_more_than_one_scorers_table():
    """The DAG shows the real dependencies: the chooser reads every scorer's table, the
    nodes after it read the chosen ones (``class_scores``)."""
    from msd_tagging.pipeline_registry import register_pipelines

    hybrid = register_pipelines()["hybrid"]
    readers = {n.name: [i for i in n.inputs if i.endswith("_scores") and i != "class_scores"] for n in hybrid.nodes}
    assert len(readers["choose_scorers"]) >= 7
    assert max(len(v) for k, v in readers.items() if k != "choose_scorers") <= 4
    for name in ("fit_decisions", "tag_catalogue", "catalogue_report"):
        node = next(n for n in hybrid.nodes if n.name == name)
        assert "class_scores" in node.inputs and not readers[name], name


def test_the_default_hybrid_is_at_most_45_nodes():
    """The DAG a newcomer opens in kedro-viz (the demo's ``hybrid``) shows the work, not one
    node per small step."""
    from msd_tagging.pipeline_registry import register_pipelines

    assert len(register_pipelines()["hybrid.msd"].nodes) <= 45


def test_the_f1_threshold_is_the_best_cut_and_ties_are_cut_together():
    from msd_tagging.catalogue.decisions import f1_threshold, point_precision_threshold

    y = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    # Cuts: top 2 (P 1, R .5, F1 .67), top 4 (P .75, R .75, F1 .75), top 8 (P .5, R 1, F1 .67).
    assert f1_threshold(y, s) == pytest.approx(0.6)
    assert point_precision_threshold(y, s, 0.9) == pytest.approx(0.8)  # the rule before certified, for the benchmark
    assert np.isnan(point_precision_threshold(y, s, 1.01))
    assert f1_threshold(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.1])) == 0.5  # ties fall together


def test_an_undecided_tag_is_never_decided_on_any_track():
    from msd_tagging.catalogue.decisions import decide

    rank = np.array([[0.9, 0.9], [0.1, np.nan]])
    assert decide(rank, np.array([0.5, np.nan])).tolist() == [[True, False], [False, False]]
    assert tagged_catalogue._decide(rank, np.array([0.5, np.nan])).tolist() == [[1, -1], [0, -1]]


def _catalogue(rule: str = "certified", target: float = 0.6):
    from msd_tagging.params import EvaluationParams, TaggingParams
    from msd_tagging.pipelines.tagging.nodes import fit_decisions

    tracks, vectors, scores, labels, crowd = _world(n=3000)
    evidence = tagging.evidence_table(tracks, vectors, scores["audio"])
    selection = tagging.choose(scores, KINDS, evidence, labels)
    params = TaggingParams(threshold=rule, target_precision=target)
    evaluation = EvaluationParams(bootstrap=BootstrapConfig(samples=50))
    chosen = tagging.class_scores(selection, evidence, scores)
    decisions, calibration, expected = fit_decisions(selection, evidence, labels, crowd, params, evaluation, chosen)
    parts = tagged_catalogue.class_tags(selection, decisions, calibration, evidence, crowd, chosen, TAGS)
    return tracks, evidence, scores, labels, crowd, selection, decisions, calibration, expected, parts


def test_decisions_are_certified_per_class_and_say_what_to_expect():
    *_, selection, decisions, calibration, expected, parts = _catalogue()
    fused = decisions[decisions["evidence"] == "audio+listening"].set_index("tag")
    assert fused.loc["rock", "decided"]  # the common tag has the evidence for 0.6 at 90 %
    assert (fused.loc[fused["decided"], "expected_precision"] >= 0.6).all()
    assert (decisions.loc[~decisions["decided"], "reason"] != "").all()  # never undecided without a reason
    certified = calibration["audio+listening"]["certified"]
    assert certified["correct"] / certified["decisions"] >= 0.6 and certified["first_decisions"] >= 7
    assert (fused.loc[fused["decided"], "promise"] == "certified").all() and (fused["lift_low"] > 1).all()
    e = expected["classes"]["audio+listening"]
    assert 0 <= e["ece_all_pairs"]["low"] <= e["ece_all_pairs"]["ece"] <= e["ece_all_pairs"]["high"]
    assert e["reliability"] and e["labelled_tracks"] > 0 and expected["confidence"] == pytest.approx(0.9)
    row = e["tags"][0]
    assert row["predicted_precision_interval"][0] <= row["expected_precision"] <= row["predicted_precision_interval"][1]


def test_the_long_table_holds_every_track_with_evidence_calibrated_and_decided():
    from msd_tagging.catalogue.calibration import apply, rank_of

    tracks, evidence, scores, labels, crowd, selection, decisions, calibration, _, parts = _catalogue()
    long = tagged_catalogue.long_table(parts, TAGS)
    with_evidence = evidence.loc[evidence["evidence"] != "none", "track_id"]
    assert list(long.columns) == ["track_id", "tag", "probability", "decided", "evidence", "scorer", "crowd_tagged"]
    assert long["track_id"].astype(str).drop_duplicates().tolist() == with_evidence.tolist()  # catalogue order
    assert len(long) == len(with_evidence) * len(TAGS)
    track = with_evidence.iloc[0]
    row = long[(long["track_id"] == track) & (long["tag"] == "rock")].iloc[0]
    klass = evidence.set_index("track_id").loc[track, "evidence"]
    name = selection[klass]["chosen"]
    raw = scores[name].set_index("track_id").loc[[track], TAGS].to_numpy()
    mine = calibration[klass]["map"]
    t = decisions.set_index(["evidence", "tag"]).loc[(klass, "rock"), "threshold"]
    assert row["scorer"] == name and row["probability"] == pytest.approx(apply(mine, raw)[0, 0], abs=1e-6)
    assert bool(row["decided"]) == (rank_of(mine, raw)[0, 0] >= t)
    assert row["crowd_tagged"] == bool(crowd.set_index("track_id").loc[track, "rock"])


def test_the_suggestions_are_a_queue_by_calibrated_probability_with_its_expected_precision():
    tracks, evidence, scores, labels, crowd, selection, decisions, calibration, _, parts = _catalogue()
    out = tagged_catalogue.suggestions(parts, TAGS, tracks, decisions)
    long = tagged_catalogue.long_table(parts, TAGS)
    wanted = long[long["decided"].fillna(False).astype(bool) & ~long["crowd_tagged"]]
    assert len(out) == len(wanted) and out["rank"].tolist() == list(range(1, len(out) + 1))
    assert out["probability"].is_monotonic_decreasing
    np.testing.assert_allclose(
        out["cumulative_expected_precision"], out["probability"].cumsum() / out["rank"], atol=1e-3
    )
    assert out["expected_precision"].notna().all()
    capped = tagged_catalogue.suggestions(parts, TAGS, tracks, decisions, per_track=1)
    assert capped["track_id"].is_unique and set(capped["track_id"]) == set(out["track_id"])
    best = out.drop_duplicates("track_id").set_index("track_id")  # each track's most probable
    assert (capped.set_index("track_id").loc[best.index, "tag"].astype(str) == best["tag"].astype(str)).all()
    top = tagged_catalogue.top_tags(parts, TAGS, tracks, k=1)
    assert len(top) == long["track_id"].nunique() and top.iloc[0]["tag_1"] in TAGS


def test_the_f1_rule_decides_more_and_says_it_promises_nothing():
    *_, decisions, _, expected, _ = _catalogue(rule="f1")
    assert decisions["decided"].any() and expected["promise"].startswith("no precision promise")
    assert set(decisions.loc[decisions["decided"], "promise"]) == {expected["promise"]}
