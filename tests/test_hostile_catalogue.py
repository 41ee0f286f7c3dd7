"""The catalogue path tried again as a hostile user would (issue 29): tags that look like
NA or numbers, a one-tag vocabulary, run artifacts in git, formulas in the outputs. Each
case is named in docs/reliability.md; the end-to-end run is in tests/test_run.py."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets import AudioListingDataset, ReportCSVDataset, TableDataset
from msd_tagging.params import IngestionParams, VocabularyConfig
from msd_tagging.readers.tables import read_plays, read_tags, read_tracks

pytestmark = pytest.mark.bad_input

REPO = Path(__file__).resolve().parents[1]
TABLES = IngestionParams(source="tables", untagged="unlabelled")
NA_LIKE = ["NA", "None", "null", "N/A", "nan", "#N/A", "100", "007"]


def _table(tmp_path: Path, name: str, text: str | bytes, **kwargs) -> pd.DataFrame:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return TableDataset(str(path), **kwargs).load()


# --- 1. run artifacts stay out of git; secrets are masked --------------------------------


def test_no_run_artifact_is_committed_and_mlruns_is_ignored():
    tracked = subprocess.run(["git", "ls-files", "mlruns", "mlartifacts"], cwd=REPO, capture_output=True, text=True)
    assert tracked.stdout == ""
    for path in ("mlruns/1/abc/artifacts/run_record.json", "mlartifacts/1/x.md"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path


def test_parameters_whose_key_names_a_secret_are_masked():
    from msd_tagging.framework.run_record import masked

    given = {"db_password": "X", "api_key": "X", "db": {"token": "X", "Credentials": {"a": 1}}, "aws_secret": "X",
             "listening": {"bpr": {"factors": 200}}, "monkey": "kept", "key": "X", "keys": ["X"]}  # fmt: skip
    assert masked(given) == {
        "db_password": "***", "api_key": "***", "db": {"token": "***", "Credentials": "***"}, "aws_secret": "***",
        "listening": {"bpr": {"factors": 200}}, "monkey": "kept", "key": "***", "keys": "***",
    }  # fmt: skip


def test_the_mlflow_store_and_its_artifacts_are_under_data_root():
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local",
                               config_patterns={"mlflow": ["mlflow*"]})  # fmt: skip
    mlflow = loader["mlflow"]
    assert mlflow["server"]["mlflow_tracking_uri"] == "sqlite:///data/09_runs/mlflow.db"
    assert (
        mlflow["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"] == "data/09_runs/mlartifacts"
    )


# --- 2. formulas never reach a spreadsheet; the report escapes ---------------------------


def test_csvs_for_people_neutralise_formulas_and_read_back_as_written(tmp_path):
    frame = pd.DataFrame(
        {"track_id": ["000002", "007", "TR1"], "tag": ['=HYPERLINK("http://evil.example/","click")', "NA", "+1"],
         "artist": ["=cmd|' /C calc'!A0", "@SUM(A1)", "\tTab"], "probability": [-0.5, 0.25, 1.0]}
    )  # fmt: skip
    path = tmp_path / "tag_suggestions.csv"
    dataset = ReportCSVDataset(filepath=str(path), save_args={"index": False})
    dataset.save(frame)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("tag", "artist"):
        assert not written[column].str.match(r"[=+\-@\t\r]").any(), written[column].tolist()
    assert written["probability"].tolist() == ["-0.5", "0.25", "1.0"]  # numbers stay numbers
    back = dataset.load()
    assert back["track_id"].tolist() == ["000002", "007", "TR1"] and back["tag"].tolist() == frame["tag"].tolist()
    assert back["artist"].tolist() == frame["artist"].tolist() and back["probability"].tolist() == [-0.5, 0.25, 1.0]


def test_the_catalogue_report_escapes_pipes_and_html():
    from msd_tagging.pipelines.tagging.report import report_markdown

    summary = {
        "tagged_tracks": 1, "neither": {"count": 0, "by_audio_status": {}},
        "classes": {"audio": {"tracks": 1, "crowd_tagged": 0, "untagged": 1, "given_a_tag": 1,
                              "untagged_given_a_tag": 1, "gained_a_tag": 1, "decided_tags": 1, "suggested_tags": 1}},
        "examples": [{"track_id": "000002", "artist": "A|B", "title": "<script>alert(1)</script>", "evidence": "audio",
                      "decided": ["rock|pop"], "probable": [["rock|pop", 0.9], ["<b>", 0.1]]}],
    }  # fmt: skip
    selection = {"audio": {"chosen": "audio", "validation": {"audio": 0.7}}}
    expected = {"rule": "certified", "target_precision": 0.7, "confidence": 0.9, "interval_confidence": 0.95,
                "fitted_on": "held-out tracks", "promise": "precision at least 0.7",
                "classes": {"audio": {"scorer": "audio", "labelled_tracks": 3, "untagged_tracks": 1, "tags": []}}}  # fmt: skip
    decisions = pd.DataFrame({"evidence": ["audio"], "tag": ["<i>x|y</i>"], "decided": [False],
                              "reason": ["too few labels"], "needed_positives": [3], "positives": [1]})  # fmt: skip
    report = report_markdown(summary, selection, expected, decisions)
    assert "<script>" not in report and "&lt;script&gt;" in report and "<b>" not in report
    row = next(line for line in report.splitlines() if "000002" in line)
    assert row.count("|") - row.count("\\|") == 6  # five cells: no pipe of the data splits the row
    assert "`000002`" in row and "&lt;i&gt;x\\|y&lt;/i&gt;" in report


# --- 3. tags that look like NA or numbers keep their decisions (here: the tables) --------


def test_tables_the_run_reads_back_keep_na_like_tags_and_zero_padded_ids():
    """Every table the project writes and reads back is Parquet (tags and IDs stay text), or
    a CSV for people that loads text as text."""
    from kedro.config import OmegaConfigLoader

    catalog = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local")["catalog"]
    for name in ("tag_decisions", "tagged_catalogue"):
        assert catalog[name]["dataset"] == "pandas.ParquetDataset", name
    for name, entry in catalog.items():
        if str(entry.get("filepath", "")).endswith(".csv") and not name.startswith("_"):
            assert entry.get("dataset") == "msd_tagging.datasets.ReportCSVDataset", name


# --- 4. "unlabelled" means no crowd tag at all --------------------------------------------


def test_a_track_tagged_outside_a_small_vocabulary_is_a_labelled_negative(tmp_path):
    from msd_tagging.pipelines.ingestion.tables import assign_split, catalogue_audio_paths

    n = 30
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id,artist,split\n" + "".join(
        f"t{i},a{i},{['train', 'valid', 'test'][i % 3]}\n" for i in range(n))))  # fmt: skip
    rows = "".join(f"t{i},{'rock' if i % 2 else 'jazz'},90\n" for i in range(n - 3))  # t27-t29: no tag at all
    tags = read_tags(_table(tmp_path, "tags.csv", "track_id,tag,weight\n" + rows))
    audio = catalogue_audio_paths(tracks, AudioListingDataset(str(tmp_path / "none")).load())
    split, stats = assign_split(tracks, tags, ["rock"], audio, TABLES)
    in_split = set(split.loc[split["split"] != "none", "track_id"])
    assert {f"t{i}" for i in range(0, n - 3, 2)} <= in_split  # jazz-only tracks: negatives for rock
    assert not {"t27", "t28", "t29"} & in_split  # no crowd tag at all: unlabelled
    assert stats["untagged"] == {"as": "unlabelled", "tracks": 3, "kept_out_of_the_splits": 3}


# --- 5. a given vocabulary: two spellings of one tag, a tag nobody has ------------------


def test_a_given_vocabulary_with_two_spellings_stops_and_a_tag_nobody_has_is_dropped(tmp_path, caplog):
    from msd_tagging.pipelines.ingestion.nodes import build_tag_labels
    from msd_tagging.pipelines.ingestion.tables import choose_vocabulary

    rows = "track_id,tag,weight\n" + "".join(f"t{i},{'rock' if i % 2 else '00s'},90\n" for i in range(12))
    tags = read_tags(_table(tmp_path, "tags.csv", rows))
    given = IngestionParams(source="tables", vocabulary=VocabularyConfig(tags=("rock", "no such tag", "Rock ", "00s")))
    with pytest.raises(MSDDataError, match=r"names one tag twice: 'rock' and 'Rock ' are spellings of 'rock'"):
        choose_vocabulary(tags, None, given)
    given = IngestionParams(source="tables", vocabulary=VocabularyConfig(tags=("rock", "no such tag", "00s")))
    vocabulary = choose_vocabulary(tags, None, given)
    tracks = pd.DataFrame(
        {"track_id": [f"t{i}" for i in range(12)], "split": ["train"] * 4 + ["valid"] * 4 + ["test"] * 4}
    )
    with caplog.at_level(logging.WARNING):
        labels, crowd, stats = build_tag_labels(tracks, tags, vocabulary, given)
    assert labels.columns.tolist() == crowd.columns.tolist() == ["track_id", "rock", "00s"]
    assert stats["dropped_tags_without_training_positive"] == ["no such tag"]
    assert "'no such tag'" in caplog.text and "dropped" in caplog.text


# --- 6. a tag no training track has is never decided -------------------------------------


def test_a_tag_without_a_training_positive_is_undecided_with_the_reason():
    from msd_tagging.catalogue.decisions import REASONS, ClassDecisions, RuleSettings

    rng = np.random.default_rng(0)
    y = rng.random((400, 2)) < 0.3
    s = np.where(y, rng.normal(2, 1, y.shape), rng.normal(0, 1, y.shape))
    s = 1 / (1 + np.exp(-s))
    fitted = ClassDecisions(RuleSettings(rule="f1", target=0.6)).fit(y, s, trained=np.array([True, False]))
    assert np.isfinite(fitted.thresholds_[0]) and not np.isfinite(fitted.thresholds_[1])
    assert REASONS[fitted.reasons_[1]] == "no positive in the training split: the models never saw this tag"


# --- 7. NUL and other control characters ---------------------------------------------------


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [
        ("tracks", "track_id,artist,title\nt1,A,B\nt2,Nul\x00l,T\n", r"column 'artist' holds the control character U\+0000 on line 3"),
        ("tracks", "track_id,artist,title\nt1,A,\x1b[31mred\n", r"column 'title' holds the control character U\+001B on line 2"),
        ("tags", "track_id,tag,weight\nt1,ro\x07ck,90\n", r"column 'tag' holds the control character U\+0007 on line 2"),
    ],
)  # fmt: skip
def test_nul_and_control_characters_stop_the_run_naming_the_line(tmp_path, table, text, message):
    reader = {"tracks": read_tracks, "tags": read_tags}[table]
    with pytest.raises(MSDDataError, match=message):
        reader(_table(tmp_path, f"{table}.csv", text))


def test_c1_control_characters_point_at_cp1252(tmp_path):
    text = "track_id,artist\nt1,\u201crock\u201d\n".encode("cp1252")
    with pytest.raises(MSDDataError, match=r"U\+0093 on line 2.*encoding: cp1252"):
        read_tracks(_table(tmp_path, "tracks.csv", text, encoding="latin-1"))


# --- 8. load_args that change what is read say so, and lines stay true --------------------


def test_load_args_that_drop_rows_or_columns_are_logged_and_lines_stay_true(tmp_path, caplog):
    text = "# an export comment\n# another\nuser_id,track_id,plays\nu1,t1,2\nu2,t1,x\n"
    path = tmp_path / "plays.csv"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        frame = TableDataset(str(path), load_args={"skiprows": 2}).load()
    assert "load_args skiprows skips the first 2 lines" in caplog.text
    with pytest.raises(MSDDataError, match=r"line 5 has 'x'"):  # the file's own line 5, skipped lines counted
        read_plays(frame)
    listed = TableDataset(str(path), load_args={"skiprows": [0, 1]}).load()
    with pytest.raises(MSDDataError, match=r"line 5 has 'x'"):
        read_plays(listed)
    tags = tmp_path / "tags.csv"
    tags.write_text("track_id,tag,weight\nt1,rock,10\nt2,jazz,90\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        read_tags(TableDataset(str(tags), load_args={"usecols": ["track_id", "tag"], "nrows": 1}).load())
    assert "load_args usecols reads only the columns ['track_id', 'tag']" in caplog.text
    assert "load_args nrows reads only the first 1 rows" in caplog.text
    assert "no weight column: every tag row counts as a positive" in caplog.text


# --- 9. cp1252 is named when its bytes are there -----------------------------------------


def test_the_encoding_hint_names_cp1252_for_windows_bytes_and_latin1_otherwise(tmp_path):
    (tmp_path / "w.csv").write_bytes("track_id,artist\nt1,\u201crock\u201d\n".encode("cp1252"))
    with pytest.raises(Exception, match=r"line 2 holds byte 0x93.*encoding: cp1252"):
        TableDataset(str(tmp_path / "w.csv")).load()
    (tmp_path / "l.csv").write_bytes("track_id,artist\nt1,Bj\u00f6rk\n".encode("latin-1"))
    with pytest.raises(Exception, match=r"encoding: latin-1"):
        TableDataset(str(tmp_path / "l.csv")).load()


# --- 10. one listing for the catalogue and tag_audio: FIFOs, devices, linked folders ------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_and_devices_are_named_in_both_listings_and_linked_folders_followed(tmp_path):
    from msd_tagging.audio.signal import DamageConfig
    from msd_tagging.pipelines.tag_audio.nodes import _examine, find_audio

    folder = tmp_path / "audio"
    folder.mkdir()
    os.mkfifo(folder / "fifo.mp3")
    os.symlink("/dev/zero", folder / "zero.mp3")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "deep.mp3").write_bytes(b"not audio")
    os.symlink(other, folder / "linked")
    listing = AudioListingDataset(str(folder)).load().set_index("path")
    assert listing.loc["fifo.mp3", "special"] == "FIFO" and listing.loc["zero.mp3", "special"] == "character device"
    assert "linked/deep.mp3" in listing.index
    found = find_audio(str(folder), ["*.mp3"], True)
    assert [p.relative_to(folder).as_posix() for p in found] == ["fifo.mp3", "linked/deep.mp3", "zero.mp3"]
    from msd_tagging import Tagger

    tagger = Tagger.pretrained("msd_musicnn")
    rows = {p.name: _examine(p, folder, tagger, DamageConfig(), None)[0] for p in found}
    assert rows["fifo.mp3"]["status"] == rows["zero.mp3"]["status"] == "not_a_file"
    assert "FIFO" in rows["fifo.mp3"]["detail"] and rows["deep.mp3"]["status"] == "not_audio"


def test_a_track_whose_audio_is_a_device_is_not_a_file_in_ingestion(tmp_path):
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio
    from msd_tagging.readers import AudioPathIndex

    tracks = pd.DataFrame({"track_id": ["t1", "t2"], "split": ["train", "none"]})
    index = AudioPathIndex("index", pd.DataFrame({"track_id": ["t1", "t2"], "path": ["a.mp3", "zero.mp3"]}))
    listing = pd.DataFrame({"path": ["a.mp3", "zero.mp3"], "size_bytes": [100, 0], "link": ["", "outside"],
                            "bad_name": [False, False], "special": ["", "character device"]})  # fmt: skip
    out, _ = resolve_audio(tracks, index, listing, IngestionParams(max_missing_audio_fraction=1.0))
    assert out["audio_status"].tolist() == ["ok", "not_a_file"]


# --- 11. tag_audio.model=run in another vocabulary than the run's -------------------------


def test_tag_audio_with_the_runs_model_stops_when_the_vocabulary_changed(tmp_path):
    from msd_tagging.core.mapping import IdMaps
    from msd_tagging.params import TagAudioParams
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files
    from tests.test_tag_audio import AUDIO_ARGS, _model

    (tmp_path / "a.wav").write_bytes(b"x")
    config = TagAudioParams(input_dir=str(tmp_path), model="run", pattern="wav")
    maps = IdMaps.build(tags=["rock", "jazz"])  # re-ingested with fewer tags since the model was trained
    with pytest.raises(MSDDataError, match=r"trained on 3 tags, but the run's vocabulary is now 2 tags"):
        tag_audio_files(_model(), config, *AUDIO_ARGS, maps)
    table, _, _ = tag_audio_files(_model(), config, *AUDIO_ARGS, IdMaps.build(tags=["rock", "jazz", "80s"]))
    assert table["status"].tolist() == ["not_audio"]


# --- 12. swapped weight files with swapped checksums --------------------------------------


def test_swapped_weight_files_with_swapped_checksums_are_caught(tmp_path, monkeypatch):
    from msd_tagging.models import pretrained

    folder = tmp_path / "weights"
    shutil.copytree(pretrained.WEIGHTS, folder)
    (folder / "msd_vgg.pt").rename(folder / "swap")
    (folder / "msd_musicnn.pt").rename(folder / "msd_vgg.pt")
    (folder / "swap").rename(folder / "msd_musicnn.pt")
    sums = (folder / "SHA256SUMS").read_text().replace("msd_vgg.pt", "SWAP").replace("msd_musicnn.pt", "msd_vgg.pt")
    (folder / "SHA256SUMS").write_text(sums.replace("SWAP", "msd_musicnn.pt"))
    monkeypatch.setattr(pretrained, "WEIGHTS", folder)
    monkeypatch.setattr(pretrained, "CHECKSUMS", folder / "SHA256SUMS")
    with pytest.raises(MSDDataError, match=r"msd_musicnn holds another model \(architecture 'musicnn_vgg'"):
        pretrained.pretrained_record("msd_musicnn")
    with pytest.raises(MSDDataError, match=r"msd_vgg holds another model"):
        pretrained.pretrained_record("msd_vgg")


# --- 13. digits of other scripts in a play count ------------------------------------------


@pytest.mark.parametrize("count", ["１２", "١٢", "๑๒"])
def test_non_ascii_digits_in_a_play_count_name_the_line(tmp_path, count):
    table = _table(tmp_path, "plays.csv", f"user_id,track_id,plays\nu1,t1,3\nu2,t1,{count}\n")
    with pytest.raises(MSDDataError, match=rf"plays.csv: column 'plays'.*line 3 has '{count}'.*digits 0-9"):
        read_plays(table)


# --- 14. a validation split that cannot measure anything ---------------------------------


def test_a_one_track_validation_split_stops_ingestion_naming_the_sizes():
    from msd_tagging.pipelines.ingestion.nodes import build_tag_labels

    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(7)],
                           "split": ["train"] * 4 + ["valid"] + ["test"] * 2})  # fmt: skip
    tags = pd.DataFrame({"track_id": ["t0", "t2", "t4", "t5"], "tag": "rock", "weight": 90.0})
    with pytest.raises(
        MSDDataError, match=r"in the valid split \(1 track\(s\); split sizes: train 4, valid 1, test 2\)"
    ):
        build_tag_labels(tracks, tags, ["rock"], IngestionParams())


# --- 15. the embedding store checks its shards ----------------------------------------------


def test_a_cut_or_short_embedding_shard_is_redone_and_never_shifts_rows(tmp_path):
    from types import SimpleNamespace

    from msd_tagging.models.embeddings import EmbeddingStore, EmbeddingStoreWriter
    from msd_tagging.models.pretrained import pretrained_record
    from tests.test_heads import _store

    features = _store(tmp_path)
    record = pretrained_record("msd_musicnn")
    settings = SimpleNamespace(with_std=False, tracks_per_shard=2, device="cpu", dask_scheduler=None)
    writer = EmbeddingStoreWriter(tmp_path / "embeddings", progress=False)
    whole = EmbeddingStore(tmp_path / "embeddings", writer.embed(features, "msd_musicnn", record, settings))
    expected = whole.rows(whole.track_ids)
    shards = sorted((tmp_path / "embeddings/shards").glob("*.npy"))
    shards[0].write_bytes(shards[0].read_bytes()[:100])  # cut
    np.save(shards[1], np.load(shards[1])[:1])  # a row short
    with pytest.raises(MSDDataError, match=r"embedding shard (cannot be read|holds 1 rows, its manifest 2)"):
        _ = EmbeddingStore(tmp_path / "embeddings").matrix
    again = EmbeddingStore(tmp_path / "embeddings", writer.embed(features, "msd_musicnn", record, settings))
    np.testing.assert_allclose(again.rows(whole.track_ids), expected, atol=1e-6)


# --- 16. runs --show / --diff on damaged or edited records ---------------------------------


def _record(folder: Path, version: str, **changes) -> Path:
    record = {"version": version, "finished": "2026-12-07T00:00:00+00:00",
              "run": {"env": None, "runner": "<kedro.runner.sequential_runner.SequentialRunner object at 0x7ffa12>"},
              "code": {"commit": "abc", "dirty": False, "packages": {"kedro": "1.7"}},
              "parameters": {"a": 1}, "inputs": {},
              "outputs": {"vgg_model": {"path": "vgg.pt", "sha256": "f" * 64, "kept_as": str(folder / "gone.pt")}}}  # fmt: skip
    record.update(changes)
    path = folder / "run_record.json" / version / "run_record.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    return path


def test_runs_show_and_diff_skip_and_name_damaged_records(tmp_path, capsys, caplog):
    from msd_tagging.framework.runs import main, run_record

    _record(tmp_path, "2026-12-01T00.00.00.000Z", run={"env": None, "runner": "SequentialRunner"})
    _record(tmp_path, "2026-12-02T00.00.00.000Z")
    bad = {"2026-12-03T00.00.00.000Z": {"code": []}, "2026-12-04T00.00.00.000Z": {"outputs": {"m": {}}}}
    for version, change in bad.items():
        _record(tmp_path, version, **change)
    (tmp_path / "run_record.json/2026-12-05T00.00.00.000Z").mkdir()
    (tmp_path / "run_record.json/2026-12-05T00.00.00.000Z/run_record.json").write_text("{not json")
    without_code = _record(tmp_path, "2026-12-06T00.00.00.000Z")
    without_code.write_text(json.dumps({k: v for k, v in json.loads(without_code.read_text()).items() if k != "code"}))
    with caplog.at_level(logging.WARNING):
        assert main(["--reporting", str(tmp_path), "--show", "last"]) == 0
    out = capsys.readouterr().out
    assert "2026-12-02T00.00.00.000Z" in out and "kept as" not in out and "is gone" in out
    assert caplog.text.count("Skipping") == 4
    with pytest.raises(
        MSDDataError, match=r"2026-12-03T00.00.00.000Z/run_record.json: the run record is damaged: its 'code' is list"
    ):
        run_record(tmp_path, "2026-12-03T00.00.00.000Z")
    assert main(["--reporting", str(tmp_path), "--diff", "2026-12-01T00.00.00.000Z", "last"]) == 0
    assert "runner" not in capsys.readouterr().out  # the same runner, whichever way it was recorded
    with pytest.raises(SystemExit):
        main(["--reporting", str(tmp_path), "--show", "2026-12-05T00.00.00.000Z"])


def test_the_run_record_names_the_runner_by_class():
    from kedro.runner import SequentialRunner

    from msd_tagging.framework.run_record import _runner

    assert _runner(SequentialRunner()) == "SequentialRunner" and _runner(None) is None


# --- 17. MLflow failures never fail a finished run ------------------------------------------


def test_an_unwritable_tracking_store_is_named_before_the_first_node(tmp_path, monkeypatch):
    from msd_tagging.framework import tracking

    store = tmp_path / "runs" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"")
    tracking.check_store(f"sqlite:///{store}")  # writable: nothing said
    monkeypatch.setattr(tracking.os, "access", lambda path, mode: False)  # read-only (tests run as root)
    with pytest.raises(
        MSDDataError, match=rf"{store}: the MLflow tracking store cannot be written.*MSD_TAGGING_MLFLOW=0"
    ):
        tracking.check_store(f"sqlite:///{store}")


def test_a_tracking_failure_after_the_run_is_a_warning_naming_the_store(monkeypatch, caplog):
    pytest.importorskip("mlflow")
    import mlflow

    from msd_tagging.framework import tracking

    hook = tracking.MlflowTracking()
    hook._run_id, hook._uri = "abc", "sqlite:///data/09_runs/mlflow.db"

    def locked(*args, **kwargs):
        raise RuntimeError("(sqlite3.OperationalError) attempt to write a readonly database")

    monkeypatch.setattr(mlflow, "active_run", lambda: None)
    monkeypatch.setattr(mlflow, "start_run", locked)
    with caplog.at_level(logging.WARNING):
        hook.after_pipeline_run({}, None, None)  # no exception: the run's outputs are complete
    assert "MLflow tracking failed while logging the finished run" in caplog.text
    assert "sqlite:///data/09_runs/mlflow.db" in caplog.text and "MSD_TAGGING_MLFLOW=0" in caplog.text


# --- 18. credentials and fsspec URLs --------------------------------------------------------


def test_a_table_in_a_bucket_is_read_through_fsspec_with_credentials(tmp_path):
    import fsspec

    with fsspec.open("memory:///bucket/tracks.csv", "w") as handle:
        handle.write("track_id,artist\n000002,A\n")
    table = TableDataset("memory:///bucket/tracks.csv", credentials={"skip_instance_cache": True})
    assert read_tracks(table.load())["track_id"].tolist() == ["000002"] and table.filepath is None
    with pytest.raises(Exception, match=r"memory:///bucket/gone.csv: the table does not exist"):
        TableDataset("memory:///bucket/gone.csv").load()
    (tmp_path / "plays.csv").write_text("user_id,track_id,plays\nu1,007,2\n")
    local = TableDataset(f"file://{tmp_path}/plays.csv")
    assert read_plays(local.load())["track_id"].tolist() == ["007"] and local.filepath == tmp_path / "plays.csv"


# --- 19. Kedro's check of the typed parameters prints one block -----------------------------


def test_a_parameter_out_of_range_prints_one_readable_block(tmp_path):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MSD_TAGGING_MLFLOW": "0"}
    kedro = Path(sys.executable).parent / "kedro"
    result = subprocess.run([str(kedro), "run", "--pipeline=hybrid", "--params=tagging.target_precision=1.5"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output and "╭" not in output
    assert "The run stopped: a problem in a parameter." in output
    assert "tagging.target_precision: 1.5 is out of range. Fix: use a number of at most 0.99" in output
    assert len(output.splitlines()) < 15


# --- 20. a track without an audio file says so ----------------------------------------------


def test_a_track_without_an_audio_file_says_no_audio_file():
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio
    from msd_tagging.readers import AudioPathIndex

    tracks = pd.DataFrame({"track_id": ["t1", "t2"], "split": ["train", "train"]})
    index = AudioPathIndex("index", pd.DataFrame({"track_id": ["t2"], "path": ["t2.mp3"]}))
    listing = pd.DataFrame({"path": ["t2.mp3"], "size_bytes": [10]})
    with pytest.raises(MSDDataError, match=r"e\.g\. t1 \(no audio file\)") as caught:
        resolve_audio(tracks, index, listing, IngestionParams(max_missing_audio_fraction=0.1))
    assert "None" not in str(caught.value)
