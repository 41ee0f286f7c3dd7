"""A catalogue exported the way a streaming service exports one, read by configuration
alone (issue 24): a Parquet listen log ``listener_uuid, isrc, played_at``, a tags CSV
``isrc;label;score`` with scores from 0 to 1, a gzipped tracks TSV
``isrc, artist_name, track_title, file`` and FLAC and OGG audio.

The export is the tiny example catalogue rewritten; its ingestion must give the same
tracks, plays and tag labels as the plain tables it came from, and the whole method runs
on it.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from kedro.io import DatasetError

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets.tables import TableDataset
from tests.conftest import TINY
from tests.test_run import FAST_AUDIO, _conf, _run

REPO = Path(__file__).resolve().parents[1]

EXPORT_CATALOG = {
    "catalogue_listens": {
        "type": "msd_tagging.datasets.TableDataset",
        "filepath": "${globals:tables.listens}",
        "optional": True,
        "columns": {"user_id": "listener_uuid", "track_id": "isrc", "timestamp": "played_at"},
    },
    "catalogue_tags": {
        "type": "msd_tagging.datasets.TableDataset",
        "filepath": "${globals:tables.tags}",
        "columns": {"track_id": "isrc", "tag": "label", "weight": "score"},
        "load_args": {"sep": ";"},
        "weight_scale": 1,
    },
    "catalogue_tracks": {
        "type": "msd_tagging.datasets.TableDataset",
        "filepath": "${globals:tables.tracks}",
        "columns": {"track_id": "isrc", "artist": "artist_name", "title": "track_title", "audio_path": "file"},
    },
}


def _plain_catalogue(raw: Path) -> None:
    """The tiny world as the example catalogue's plain tables, without a split column."""
    from msd_tagging.demo.world import DemoWorldConfig, build_world
    from msd_tagging.demo.writer import write_catalogue

    write_catalogue(build_world(DemoWorldConfig(**TINY)), raw, workers=1, progress=False)
    tracks = pd.read_csv(raw / "tracks.csv", dtype=str, keep_default_na=False)
    tracks.drop(columns="split").to_csv(raw / "tracks.csv", index=False)


def _streaming_export(raw: Path, export: Path) -> None:
    """``raw``'s tables and clips as a streaming service's export in ``export``."""
    (export / "media").mkdir(parents=True)
    plays = pd.read_csv(raw / "plays.csv", dtype={"plays": int}, keep_default_na=False)
    plays = plays[plays["plays"] > 0]
    events = plays.loc[plays.index.repeat(plays["plays"])].reset_index(drop=True)
    listens = pd.DataFrame(
        {
            "listener_uuid": events["user_id"],
            "isrc": events["track_id"],
            "played_at": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(len(events)), unit="s"),
        }
    )
    listens.sample(frac=1.0, random_state=0).to_parquet(export / "listens.parquet", index=False)
    tags = pd.read_csv(raw / "tags.csv", dtype={"weight": float}, keep_default_na=False)
    pd.DataFrame({"isrc": tags["track_id"], "label": tags["tag"], "score": tags["weight"] / 100}).to_csv(
        export / "tags.csv", sep=";", index=False
    )
    tracks = pd.read_csv(raw / "tracks.csv", dtype=str, keep_default_na=False)
    files = []
    for i, track in enumerate(tracks["track_id"]):
        clip = raw / "audio" / f"{track}.mp3"
        if not clip.is_file():
            files.append("")
            continue
        try:
            audio, rate = sf.read(clip, dtype="float32")
        except sf.LibsndfileError:  # the world's deliberately broken files stay as they are
            name = f"media/{track}.mp3"
            shutil.copyfile(clip, export / name)
        else:
            name = f"media/{track}.{'flac' if i % 2 else 'ogg'}"
            sf.write(export / name, audio, rate)
        files.append(name)
    pd.DataFrame(
        {"isrc": tracks["track_id"], "artist_name": tracks["artist"], "track_title": tracks["title"], "file": files}
    ).to_csv(export / "tracks.tsv.gz", sep="\t", index=False, compression="gzip")


def _env(tmp_path: Path, run_name: str, tables: dict, catalog: dict | None) -> dict[str, dict]:
    import yaml

    raw = tmp_path / "data/01_raw" / run_name
    world = {k: v for k, v in TINY.items() if k != "n_train"}
    env = {
        "globals.yml": {
            "data_root": str(tmp_path / "data"),
            "run_name": run_name,
            "raw_root": str(raw),
            "example": False,
            "splits": {"n_train": TINY["n_train"]},
            "tables": tables,
        },
        "parameters_ingestion.yml": yaml.safe_load((REPO / "conf/catalogue/parameters_ingestion.yml").read_text()),
        "parameters_demo_data.yml": {"demo_data": {**world, "generate": False}},
        "parameters_audio.yml": copy.deepcopy(FAST_AUDIO),
        "catalog.yml": yaml.safe_load((REPO / "conf/catalogue/catalog.yml").read_text()),
    }
    env["catalog.yml"].update(catalog or {})
    return env


@pytest.mark.e2e
def test_a_streaming_services_export_runs_end_to_end_by_configuration_alone(tmp_path, monkeypatch):
    plain, export = tmp_path / "plain", tmp_path / "export"
    _plain_catalogue(plain)
    _streaming_export(plain, export)
    plain_tables = {
        "plays": str(plain / "plays.csv"),
        "listens": str(plain / "listens.csv"),
        "tags": str(plain / "tags.csv"),
        "tracks": str(plain / "tracks.csv"),
        "audio": str(plain / "audio"),
    }
    export_tables = {
        "plays": str(export / "plays.csv"),  # absent: the listen log stands in
        "listens": str(export / "listens.parquet"),
        "tags": str(export / "tags.csv"),
        "tracks": str(export / "tracks.tsv.gz"),
        "audio": str(export),
    }
    conf = _conf(
        tmp_path,
        {
            "plain": _env(tmp_path, "plain", plain_tables, None),
            "export": _env(tmp_path, "export", export_tables, EXPORT_CATALOG),
        },
    )
    _run(conf, "plain", tmp_path, monkeypatch, pipeline="ingestion")
    _run(conf, "export", tmp_path, monkeypatch)
    primary = tmp_path / "data/03_primary"
    plays = {run: _plays_by_id(primary / run) for run in ("export", "plain")}
    pd.testing.assert_frame_equal(plays["export"], plays["plain"])  # the listen log counted into the same plays
    labels = {
        run: pd.read_parquet(primary / run / "tag_labels.parquet").sort_values("track_id", ignore_index=True)
        for run in ("export", "plain")
    }
    pd.testing.assert_frame_equal(labels["export"], labels["plain"])  # scores 0-1 on the 0-100 threshold
    ours, theirs = (pd.read_parquet(primary / run / "tracks.parquet") for run in ("export", "plain"))
    columns = ["track_id", "artist", "title", "split"]
    pd.testing.assert_frame_equal(ours[columns], theirs[columns])
    heard = ours[ours["audio_status"] == "ok"]
    assert heard["audio_path"].str.endswith(".flac").any() and heard["audio_path"].str.endswith(".ogg").any()
    report = json.loads((tmp_path / "data/08_reporting/export/ingestion_report.json").read_text())
    assert "0-1 to 0-100" in json.dumps(report)
    tagged = pd.read_parquet(next((tmp_path / "data").rglob("export/catalogue_tags.parquet")))
    assert set(heard["track_id"]) <= set(tagged["track_id"])  # every track with audio is tagged
    assert list((tmp_path / "data/08_reporting/export/table_1.json").glob("*/table_1.json"))


def _plays_by_id(primary: Path) -> pd.DataFrame:
    """A run's plays by user and track ID (indices follow first-seen order)."""
    plays = pd.read_parquet(primary / "plays.parquet")
    users, tracks = (pd.read_parquet(primary / "id_maps" / f"{n}.parquet")["id"] for n in ("users", "tracks"))
    frame = pd.DataFrame(
        {
            "user_id": users.to_numpy()[plays["user_idx"]],
            "track_id": tracks.to_numpy()[plays["track_idx"]],
            "play_count": plays["play_count"].to_numpy(),
        }
    )
    return frame.sort_values(["user_id", "track_id"], ignore_index=True)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_column_map_renames_and_names_what_the_table_lacks(tmp_path):
    table = _write(tmp_path / "tags.csv", "isrc;label;score\nA1;rock;0.5\n")
    frame = TableDataset(str(table), columns={"track_id": "isrc", "tag": "label"}, load_args={"sep": ";"}).load()
    assert list(frame.columns) == ["track_id", "tag", "score"] and frame.attrs["delimiter"] == ";"
    with pytest.raises(DatasetError, match=r"tags.csv: .*maps weight to column 'points', which the header line lacks"):
        TableDataset(str(table), columns={"weight": "points"}, load_args={"sep": ";"}).load()
    parquet = tmp_path / "listens.parquet"
    pd.DataFrame({"uuid": ["u"], "isrc": ["A1"]}).to_parquet(parquet)
    with pytest.raises(DatasetError, match=r"maps timestamp to column 'played_at', which the Parquet schema lacks"):
        TableDataset(str(parquet), columns={"timestamp": "played_at"}).load()
    both = _write(tmp_path / "both.csv", "isrc,tag,label\nA1,rock,jazz\n")
    with pytest.raises(DatasetError, match=r"a column 'tag' of its own and the catalog entry maps 'label' to that"):
        TableDataset(str(both), columns={"tag": "label"}).load()


def test_load_args_reach_pandas_and_types_stay_the_readers(tmp_path):
    table = _write(tmp_path / "plays.txt", "# exported 2024\nuser|track|n\n'u 1'|007|3\n")
    frame = TableDataset(
        str(table),
        columns={"user_id": "user", "track_id": "track", "plays": "n"},
        load_args={"sep": "|", "comment": "#", "quotechar": "'"},
    ).load()
    assert frame.to_dict("records") == [{"user_id": "u 1", "track_id": "007", "plays": "3"}]
    with pytest.raises(MSDDataError, match=r"load_args dtype cannot be set"):
        TableDataset(str(table), load_args={"dtype": {"n": int}})
    with pytest.raises(MSDDataError, match=r"maps the export's column 'a' to two names"):
        TableDataset(str(table), columns={"user_id": "a", "track_id": "a"})


def test_a_declared_weight_scale_puts_the_weights_on_lastfms_scale(tmp_path):
    from msd_tagging.readers.tables import check_weight_scale, read_tags

    table = _write(tmp_path / "tags.csv", "isrc,label,score\nA1,rock,0.29\nA2,jazz,1\n")
    columns = {"track_id": "isrc", "tag": "label", "weight": "score"}
    tags = read_tags(TableDataset(str(table), columns=columns, weight_scale=1).load())
    assert tags["weight"].tolist() == [29.0, 100.0] and tags.attrs["weight_scale"] == 1.0
    check_weight_scale(tags, 50.0, 100.0)  # on Last.fm's scale now: no mismatch
    undeclared = read_tags(TableDataset(str(table), columns=columns).load())
    with pytest.raises(MSDDataError, match=r"a 0-1 scale"):
        check_weight_scale(undeclared, 50.0, 100.0)
    with pytest.raises(MSDDataError, match=r"weight_scale must be a positive number"):
        TableDataset(str(table), weight_scale=0)


def test_an_expected_error_prints_one_block_and_verbose_keeps_the_traceback(capsys):
    from msd_tagging.cli import _readable_errors

    def load():
        try:
            raise MSDDataError("the tags table has no column 'tag'.", path="tags.csv", fix="map it.")
        except MSDDataError as exc:
            raise DatasetError("Failed while loading data from dataset TableDataset(...)") from exc

    with pytest.raises(SystemExit) as stopped:
        _readable_errors(load)()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "The run stopped: a problem in the input data." in err and "tags.csv: the tags table has no column" in err
    assert "Failed while loading" not in err and "Traceback" not in err
    with pytest.raises(DatasetError):
        _readable_errors(load)(verbose=True)

    def bug():
        raise KeyError("a bug")

    with pytest.raises(KeyError):  # not an expected error: its traceback is shown
        _readable_errors(bug)()


@pytest.mark.e2e
def test_kedro_run_on_a_wrong_header_prints_a_short_readable_error(tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "plays.csv", "user_id,track_id,plays\nu1,T1,2\nu2,T2,1\n")
    _write(raw / "tracks.csv", "track_id,artist\nT1,A\nT2,B\n")
    pd.DataFrame({"isrc": ["T1"], "label": ["rock"]}).to_parquet(raw / "tags.parquet")
    (raw / "audio").mkdir()
    tables = {"plays": str(raw / "plays.csv"), "listens": str(raw / "listens.csv"), "tags": str(raw / "tags.parquet"),
              "tracks": str(raw / "tracks.csv"), "audio": str(raw / "audio")}  # fmt: skip
    env = _env(tmp_path, "wrong", tables, None)
    conf = _conf(tmp_path, {"wrong": env})
    (conf / "wrong" / "globals.yml").write_text(yaml.safe_dump(env["globals.yml"]))
    command = [sys.executable, "-m", "kedro", "run", "--pipeline=ingestion", "--env", "wrong", "--conf-source",
               str(conf)]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "tags.parquet: the tags table has no column 'track_id', 'tag'" in output, output[-3000:]
    assert "the Parquet schema" in output and "header line" not in output
    assert "Traceback" not in output and "│" not in output
    verbose = subprocess.run(
        [*command, "--verbose"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
    )  # fmt: skip
    assert "Traceback" in verbose.stdout + verbose.stderr
