"""The tagged catalogue end to end on a small example catalogue with hidden crowd tags: the
hidden tracks are unlabelled, get decided tags, and the precision and recall the report
promised for untagged tracks are the ones they get."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from msd_tagging.demo.completion import run_check
from tests.test_run import _catalogue_env, _conf, _run

pytestmark = pytest.mark.slow

# A world with enough hidden tracks that several tags have a handful of hidden positives.
WORLD = {"n_train": 480, "n_valid": 240, "n_test": 360, "n_extra": 60, "n_users": 1600, "untagged_fraction": 0.2}


@pytest.fixture(scope="module")
def completed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("completion")
    monkeypatch = pytest.MonkeyPatch()
    env = _catalogue_env(tmp_path, "hidden")
    env["parameters_demo_data.yml"]["demo_data"].update(WORLD)
    env["globals.yml"]["splits"] = {"n_train": WORLD["n_train"]}
    conf = _conf(tmp_path, {"catalogue": env})
    try:
        _run(conf, "catalogue", tmp_path, monkeypatch)
    finally:
        monkeypatch.undo()
    return tmp_path, Path(env["globals.yml"]["raw_root"])


def test_hidden_tracks_are_unlabelled_and_every_track_with_evidence_is_tagged(completed):
    tmp_path, raw = completed
    data = tmp_path / "data"
    hidden = set(pd.read_csv(raw / "hidden_tags.csv", dtype=str)["track_id"])
    tracks = pd.read_parquet(data / "03_primary/hidden/tracks.parquet")
    assert set(tracks.loc[tracks["track_id"].isin(hidden), "split"]) == {"none"}  # out of training and evaluation
    labels = pd.read_parquet(data / "03_primary/hidden/tag_labels.parquet")
    assert not set(labels["track_id"]) & hidden
    report = json.loads((data / "08_reporting/hidden/ingestion_report.json").read_text())
    assert report["splits"]["untagged"]["kept_out_of_the_splits"] >= len(hidden)

    catalogue = pd.read_parquet(data / "07_model_output/hidden/catalogue_tags.parquet")
    assert list(catalogue.columns) == [
        "track_id",
        "tag",
        "probability",
        "decided",
        "evidence",
        "scorer",
        "crowd_tagged",
    ]
    evidence = pd.read_parquet(data / "07_model_output/hidden/track_evidence.parquet")
    with_evidence = set(evidence.loc[evidence["evidence"] != "none", "track_id"])
    heard = {p.stem for p in (raw / "audio").iterdir()}
    plays = set(pd.read_csv(raw / "plays.csv", dtype=str)["track_id"])
    assert with_evidence >= (heard - {t for t in heard if (raw / "audio" / f"{t}.mp3").stat().st_size == 0}) & set(
        tracks["track_id"]
    )
    assert set(catalogue["track_id"].astype(str)) == with_evidence and with_evidence >= plays & set(tracks["track_id"])
    assert set(catalogue["evidence"].astype(str)) <= {"audio+listening", "audio", "listening"}
    assert {"listening", "audio+listening"} <= set(catalogue["evidence"].astype(str))  # no-audio tracks too
    mine = catalogue[catalogue["track_id"].astype(str).isin(hidden)]
    assert mine["decided"].fillna(False).astype(bool).groupby(mine["track_id"], observed=True).any().mean() > 0.5
    assert not mine["crowd_tagged"].any()  # the crowd's tags were removed

    summary = json.loads((data / "08_reporting/hidden/catalogue_summary.json").read_text())
    assert summary["tagged_tracks"] == len(with_evidence)
    assert summary["neither"]["count"] == int((evidence["evidence"] == "none").sum())
    text = (data / "08_reporting/hidden/catalogue_report.md").read_text()
    assert "## Coverage by evidence" in text and "catalogue_precision_recall.png" in text
    assert (data / "08_reporting/hidden/catalogue_precision_recall.png").stat().st_size > 0
    suggestions = pd.read_csv(data / "07_model_output/hidden/tag_suggestions.csv", dtype={"track_id": str})
    assert len(suggestions) and suggestions["expected_precision"].notna().any()
    top = pd.read_csv(data / "07_model_output/hidden/catalogue_top_tags.csv", dtype={"track_id": str})
    assert set(top["track_id"]) == with_evidence


def test_the_promised_precision_and_recall_hold_on_the_hidden_tracks(completed):
    """For at least 80 % of the (class, tag) pairs with at least 5 hidden positives, the
    hidden tracks' precision and recall fall inside the intervals the report predicted."""
    tmp_path, raw = completed
    data = tmp_path / "data"
    table = run_check(raw, data / "07_model_output/hidden", data / "03_primary/hidden", 50.0)
    assert len(table) >= 5, table
    assert table["inside"].mean() >= 0.8, table[["evidence", "tag", "precision", "predicted_precision_low",
                                                 "predicted_precision_high", "recall", "inside"]]  # fmt: skip


def test_a_head_on_pretrained_embeddings_tags_the_catalogue_and_new_audio(tmp_path, monkeypatch):
    """``audio.model_source: head`` on the example catalogue in its own vocabulary: the audio
    side is a head on msd_musicnn's embeddings, Table 1 and the tagged catalogue come from
    it, and ``tag_audio.model: run`` scores a clip as the run's audio scores did."""
    import shutil

    env = _catalogue_env(tmp_path, "headcat", vocabulary={"top_n": 20})
    env["parameters_audio.yml"]["audio"].update(
        model_source="head", head={"kinds": ["logistic", "mlp"], "max_epochs": 30, "hidden": 32}
    )
    conf = _conf(tmp_path, {"catalogue": env})
    _run(conf, "catalogue", tmp_path, monkeypatch)
    data = tmp_path / "data"
    model = json.loads((data / "08_reporting/headcat/ingestion_report.json").read_text())
    assert model["splits"]["split_sizes"]["train"] > 0
    (table,) = (data / "08_reporting/headcat/table_1.json").glob("*/table_1.json")
    rows = json.loads(table.read_text())["rows"]
    assert (
        15 <= rows[0]["tags_scored"] <= 20 and 0.5 < rows[0]["roc_auc"] <= 1.0
    )  # the head, in the run's 20 tags (those with test positives)
    scores = pd.read_parquet(data / "07_model_output/headcat/audio_scores.parquet")
    assert scores.shape[1] == 21
    catalogue = pd.read_parquet(data / "07_model_output/headcat/catalogue_tags.parquet")
    assert catalogue["tag"].nunique() == 20

    raw = Path(env["globals.yml"]["raw_root"])
    new = tmp_path / "new_audio"
    new.mkdir()
    sample = [p for p in sorted((raw / "audio").glob("*.mp3")) if p.stem in set(scores["track_id"])][:3]
    for clip in sample:
        shutil.copy(clip, new / clip.name)
    _run(conf, "catalogue", tmp_path, monkeypatch, pipeline="tag_audio",
         params={"tag_audio": {"input_dir": str(new), "top_k": 3, "model": "run"}})  # fmt: skip
    tagged = pd.read_csv(data / "07_model_output/headcat/tag_audio.csv").set_index("file")
    by_track = scores.set_index("track_id")
    for clip in sample:
        row = tagged.loc[clip.name]
        assert row["probability_1"] == pytest.approx(by_track.loc[clip.stem, row["tag_1"]], abs=1e-4)
        assert row["probability_1"] == pytest.approx(by_track.loc[clip.stem].max(), abs=1e-4)
