"""A catalogue's tables, listen logs, shipped weights and credentials tried as a hostile
user would (issue 20): each case either stops naming the file, the line and the fix, or is
skipped and counted. docs/reliability.md lists them."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets import AudioListingDataset, TableDataset
from msd_tagging.params import IngestionParams
from msd_tagging.pipelines.ingestion.tables import (
    assign_split,
    catalogue_audio_paths,
    plays_by_track,
    read_catalogue_plays,
    read_catalogue_tags,
)
from msd_tagging.readers.tables import read_listens, read_plays, read_tags, read_tracks

pytestmark = pytest.mark.bad_input

TABLES = IngestionParams(source="tables")
REPO = Path(__file__).resolve().parents[1]


def _table(tmp_path: Path, name: str, text: str | bytes, **kwargs) -> pd.DataFrame:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return TableDataset(str(path), **kwargs).load()


def _listens(tmp_path: Path, times: list[str], name: str = "listens.csv", period: int | None = None) -> pd.DataFrame:
    """A log of ``times``: row ``i`` by user ``i % 3`` of track ``i % 5`` (of row ``i % period``)."""
    period = period or len(times)
    rows = "".join(f"u{(i % period) % 3},t{(i % period) % 5},{t}\n" for i, t in enumerate(times))
    return _table(tmp_path, name, "user_id,track_id,timestamp\n" + rows)


# --- 1. an empty audio_path cell is no path, never the text "<NA>" -----------------------


def test_an_empty_audio_path_falls_back_to_the_track_id_file_never_to_na(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("t1.mp3", "t2.flac", "<NA>"):
        (audio / name).write_bytes(b"x")
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id,artist,audio_path\nt1,A,\nt2,B,\nt3,C, \n"))
    assert tracks["audio_path"].tolist() == [None, None, None]
    assert tracks["artist"].tolist() == ["A", "B", "C"]
    paths = catalogue_audio_paths(tracks, AudioListingDataset(str(audio)).load()).paths_for(tracks["track_id"])
    assert paths.tolist() == ["t1.mp3", "t2.flac", None]  # t3 has no file; "<NA>" is nobody's


# --- 2. listen logs: timestamps parsed, repeats judged by what the times can tell ------


def test_listen_timestamps_are_parsed_and_coarse_or_constant_ones_keep_every_listen(tmp_path, caplog):
    constant = _listens(tmp_path, ["2024-01-05T10:00:00Z"] * 30, "constant.csv")
    with caplog.at_level(logging.WARNING):
        plays = read_listens(constant)
    assert plays["play_count"].sum() == 30  # nothing dropped: the time tells no listen apart
    assert plays.attrs["merged_rows"]["repeated_listens_kept"] == 15  # 15 distinct (user, track)
    assert "kept as real listens because the times are constant" in caplog.text
    daily = _listens(tmp_path, ["2024-01-05", "2024-01-05", "2024-01-06"] * 10, "daily.csv")
    assert read_listens(daily)["play_count"].sum() == 30
    assert read_listens(daily).attrs["merged_rows"]["timestamp_resolution"] == "day"
    empty = _listens(tmp_path, [""] * 12, "empty.csv")
    assert read_listens(empty)["play_count"].sum() == 12
    assert read_listens(empty).attrs["merged_rows"]["listens_without_timestamp"] == 12


def test_listens_logged_twice_are_dropped_only_at_second_resolution_and_within_a_share(tmp_path):
    times = [f"2024-01-05T10:{m:02d}:{s:02d}Z" for m in range(10) for s in (1, 7)]
    log = _listens(tmp_path, [*times, times[0]], "seconds.csv", period=len(times))  # the first row logged twice
    plays = read_listens(log)
    assert plays["play_count"].sum() == len(times) and plays.attrs["merged_rows"]["listen_logged_twice"] == 1
    same_instant = _listens(tmp_path, ["2024-01-05T10:00:01Z", "2024-01-05 10:00:01+00:00", "1704448801"], "tz.csv")
    with pytest.raises(MSDDataError, match="not a time"):  # epoch mixed into ISO: one format per column
        read_listens(same_instant)
    iso = _listens(tmp_path, ["2024-01-05T10:00:01Z", "2024-01-05 10:00:01+00:00", "2024-01-05T11:00:02Z"], "iso.csv")
    assert read_listens(iso, "drop").attrs["merged_rows"]["listen_logged_twice"] == 0  # u0,u1,u2: no repeat
    repeats = _listens(tmp_path, [*times, *times], "doubled.csv", period=len(times))
    with pytest.raises(
        MSDDataError, match=r"20 of 40 listens \(50.0%\) repeat a \(user, track, time\).*listen_repeats: keep"
    ):
        read_listens(repeats)
    assert read_listens(repeats, "keep")["play_count"].sum() == 40


def test_an_unparseable_timestamp_names_its_line(tmp_path):
    log = _listens(tmp_path, ["2024-01-05T10:00:00Z", "yesterday", "2024-01-05T10:00:03Z"])
    with pytest.raises(MSDDataError, match=r"listens.csv: column 'timestamp' on line 3 is 'yesterday'"):
        read_catalogue_plays(None, log, TABLES)


# --- 3. play counts too large for the stores are named, never dropped as "below 1" -----


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (
            ["3", "99999999999999999999"],
            r"plays.csv: column 'plays' on line 3 is '99999999999999999999', above 2,147,483,647",
        ),
        (["9223372036854775807"], r"line 2 is '9223372036854775807', above"),
        (["3000000000"], r"plays.csv: column 'plays' on line 2 is '3000000000'"),
        (["-4"], r"line 2 has '-4'.*Fix: play counts are 0 or more"),
    ],
)
def test_a_play_count_out_of_range_names_its_line(tmp_path, counts, message):
    rows = "".join(f"u{i},t1,{c}\n" for i, c in enumerate(counts))
    with pytest.raises(MSDDataError, match=message):
        read_plays(_table(tmp_path, "plays.csv", "user_id,track_id,plays\n" + rows))


def test_repeated_rows_whose_sum_overflows_name_the_pair_and_lines(tmp_path):
    rows = "u0,t0,1\nu1,t1,2000000000\nu1,t1,2000000000\n"
    with pytest.raises(
        MSDDataError, match=r"plays of user 'u1' and track 't1' \(line 3, line 4\) sum to 4,000,000,000"
    ):
        read_plays(_table(tmp_path, "plays.csv", "user_id,track_id,plays\n" + rows))


def test_zero_play_rows_are_counted_and_warned_and_stop_above_their_share(tmp_path, caplog):
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id\n" + "".join(f"t{i}\n" for i in range(10))))
    rows = "".join(f"u{i},t{i % 10},{1 if i < 4 else 0}\n" for i in range(100))
    plays = read_plays(_table(tmp_path, "plays.csv", "user_id,track_id,plays\n" + rows))
    with pytest.raises(MSDDataError, match=r"96 of 100 \(user, track\) pairs \(96.0%\) have 0 plays"):
        plays_by_track(plays, tracks, TABLES)
    with caplog.at_level(logging.WARNING):
        _, stats, _, _ = plays_by_track(plays, tracks, dataclasses.replace(TABLES, max_zero_play_fraction=0.99))
    assert (
        stats["rows_dropped"]["play_count_below_1"] == 96
        and "96 (user, track) pair(s) (96.0%) have 0 plays" in caplog.text
    )


# --- 4. linked folders under the audio root are followed, loops cut, all counted -------


def test_linked_folders_are_followed_counted_and_loops_cut(tmp_path):
    root, other = tmp_path / "audio", tmp_path / "other_disk"
    (root / "disk1").mkdir(parents=True)
    other.mkdir()
    (root / "disk1" / "t1.mp3").write_bytes(b"x")
    (other / "t2.mp3").write_bytes(b"xx")
    (root / "disk2").symlink_to(other, target_is_directory=True)
    (root / "disk1" / "back").symlink_to(root, target_is_directory=True)  # a loop
    listing = AudioListingDataset(str(root)).load()
    assert sorted(listing["path"]) == ["disk1/t1.mp3", "disk2/t2.mp3"]
    assert listing.set_index("path").loc["disk2/t2.mp3", "link"] == "outside"
    assert listing.attrs["linked_folders"] == 2 and listing.attrs["linked_folders_outside"] == 1
    assert listing.attrs["folder_loops_cut"] == 1
    tracks = pd.DataFrame({"track_id": ["t1", "t2"], "audio_path": [None, None]})
    assert catalogue_audio_paths(tracks, listing).paths_for(tracks["track_id"]).tolist() == [
        "disk1/t1.mp3",
        "disk2/t2.mp3",
    ]


# --- 5. a stray quote merges rows: a line break in a value is named --------------------


def test_a_stray_quote_that_merges_rows_names_the_table_and_the_line(tmp_path):
    text = (
        'track_id,artist,split\nTR1,Ra Ralinlin,train\nTR2,"Padreka Mormimi,train\nTR3,Dremor Ra Lo,test\n'
        'TR4,"Quoted",valid\n'
    )  # the stray quote on line 3 pairs with the next one: lines 3-5 become one row
    with pytest.raises(MSDDataError, match=r"tracks.csv: column 'artist' holds a line break on line 3.*stray quote"):
        read_tracks(_table(tmp_path, "tracks.csv", text))
    unclosed = 'track_id,artist,split\nTR1,Ra Ralinlin,train\nTR2,"Padreka Mormimi,train\nTR3,Dremor Ra Lo,test\n'
    with pytest.raises(Exception, match=r"unclosed.csv: a quote opened on line 3 is never closed"):
        _table(tmp_path, "unclosed.csv", unclosed)
    quoted = 'track_id,artist,split\nTR1,"Crosby, Stills, Nash & Young",train\nTR2,B,test\n'
    tracks = read_tracks(_table(tmp_path, "quoted.csv", quoted))  # a comma in an artist: warned, kept
    assert tracks["artist"].iloc[0] == "Crosby, Stills, Nash & Young" and tracks.attrs["artists_with_delimiter"] == 1
    with pytest.raises(MSDDataError, match=r"ids.csv: column 'track_id' holds the delimiter ',' on line 2"):
        read_tracks(_table(tmp_path, "ids.csv", 'track_id,split\n"TR1,train",train\n'))


# --- 6. tag weights on another scale than the threshold's --------------------------------


def test_tag_weights_on_another_scale_than_the_threshold_stop_ingestion(tmp_path):
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id\nt1\nt2\nt3\n"))
    thousand = _table(tmp_path, "tags.csv", "track_id,tag,weight\nt1,rock,900\nt2,rock,40\nt3,jazz,1000\n")
    with pytest.raises(
        MSDDataError, match=r"tags.csv: tag weights run up to 1000 \(line 4\), above ingestion.tag_weight_max=100"
    ):
        read_catalogue_tags(thousand, tracks, TABLES)
    scaled = dataclasses.replace(TABLES, tag_weight_max=1000, tag_threshold=500)
    assert len(read_catalogue_tags(thousand, tracks, scaled)) == 3
    unit = _table(tmp_path, "unit.csv", "track_id,tag,weight\nt1,rock,0.9\nt2,rock,0.2\n")
    with pytest.raises(MSDDataError, match=r"unit.csv: tag weights run from 0.2 to 0.9, a 0-1 scale"):
        read_catalogue_tags(unit, tracks, TABLES)


# --- 7. file names that are not UTF-8 ---------------------------------------------------


def _bad_name(folder: Path, name: bytes, content: bytes = b"x") -> None:
    with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
        handle.write(content)


def test_a_file_name_that_is_not_utf8_gets_a_status_and_the_rest_is_tagged(tmp_path):
    from msd_tagging.demo.synth import render_track
    from tests.test_tag_audio import ATTRS, AUDIO_ARGS, _model, _params

    folder = tmp_path / "new"
    folder.mkdir()
    clip = render_track(ATTRS, sample_rate=16000, seconds=2.0, seed=1)
    sf.write(folder / "good.wav", clip, 16000)
    sf.write(os.path.join(os.fsencode(folder), b"caf\xe9.wav"), clip, 16000)
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

    table, report, _ = tag_audio_files(_model(), _params(folder, pattern="wav", expected_seconds=0.0), *AUDIO_ARGS)
    status = table.set_index("file")["status"].to_dict()
    assert status == {"caf\\xe9.wav": "bad_name", "good.wav": "ok"} and report["tagged"] == 1
    table.to_parquet(tmp_path / "out.parquet")  # every name is now text a table can hold
    pd.DataFrame(report["skipped"]).to_csv(tmp_path / "skipped.csv")


def test_a_stray_file_with_a_non_utf8_name_in_a_catalogue_audio_folder_is_counted(tmp_path):
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio

    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "t1.mp3").write_bytes(b"x")
    _bad_name(audio, b"notes_caf\xe9.txt")
    listing = AudioListingDataset(str(audio)).load()
    assert listing["bad_name"].tolist().count(True) == 1 and "notes_caf\\xe9.txt" in set(listing["path"])
    tracks = pd.DataFrame({"track_id": ["t1"], "audio_path": [None], "split": ["train"]})
    index = catalogue_audio_paths(tracks, listing)
    _, stats = resolve_audio(tracks, index, listing, TABLES)
    assert stats["files_with_bad_names"]["count"] == 1 and stats["audio_status"] == {"ok": 1}


# --- 9, 10. shipped weights: corrupt, replaced or edited files are named ---------------


@pytest.fixture()
def weights(tmp_path, monkeypatch):
    from msd_tagging.models import pretrained

    folder = tmp_path / "weights"
    shutil.copytree(pretrained.WEIGHTS, folder)
    monkeypatch.setattr(pretrained, "WEIGHTS", folder)
    monkeypatch.setattr(pretrained, "CHECKSUMS", folder / "SHA256SUMS")
    return folder


def test_corrupt_shipped_weights_are_named_with_reinstall_and_never_run(weights, tmp_path):
    import torch

    from msd_tagging.core.files import safe_torch_load
    from msd_tagging.models.pretrained import pretrained_record

    path = weights / "msd_vgg.pt"
    original = path.read_bytes()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    cases = {
        "truncated": original[: len(original) // 3],
        "lfs": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 2441463\n",
    }
    for content in cases.values():
        path.write_bytes(content)
        with pytest.raises(MSDDataError, match=rf"{path}: the weight file differs from the one shipped.*reinstall"):
            pretrained_record("msd_vgg")
    torch.save({"x": Payload()}, path)
    with pytest.raises(MSDDataError, match="differs from the one shipped"):
        pretrained_record("msd_vgg")
    with pytest.raises(MSDDataError, match=r"not plain tensors and data; refused, nothing in it was run") as caught:
        safe_torch_load(path, "model file")  # what a trained model's file gets, without a checksum
    assert "weights_only" not in str(caught.value) and "reinstall" not in str(caught.value)
    (weights / "lfs.pt").write_bytes(cases["lfs"])
    with pytest.raises(MSDDataError, match="is a Git LFS pointer, not the file itself"):
        safe_torch_load(weights / "lfs.pt", "model file")
    assert not marker.exists()


def test_a_shipped_weight_file_whose_tags_were_reordered_fails_its_checksum(weights):
    import torch

    from msd_tagging.models.pretrained import pretrained_record

    path = weights / "msd_musicnn.pt"
    record = torch.load(path, weights_only=True)
    torch.save({**record, "tags": list(reversed(record["tags"]))}, path)
    with pytest.raises(MSDDataError, match=r"msd_musicnn.pt: the weight file differs from the one shipped"):
        pretrained_record("msd_musicnn")
    (weights / "SHA256SUMS").unlink()
    with pytest.raises(MSDDataError, match="checksum list of the shipped weights is missing"):
        pretrained_record("msd_musicnn")


# --- 11. an empty split stops ingestion, saying why --------------------------------------


def test_an_empty_valid_or_test_split_stops_ingestion_naming_why(tmp_path):
    tags = read_tags(_table(tmp_path, "tags.csv", "track_id,tag\n" + "".join(f"t{i},rock\n" for i in range(12))))
    given = "".join(f"t{i},A{i},{'train' if i < 9 else 'test'}\n" for i in range(12))
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id,artist,split\n" + given))
    listing = pd.DataFrame({"path": [f"t{i}.mp3" for i in range(12)], "size_bytes": 1})
    paths = catalogue_audio_paths(tracks, listing)
    with pytest.raises(MSDDataError, match=r"tracks.csv: the tracks table's split column gives no track to valid"):
        assign_split(tracks, tags, ["rock"], paths, TABLES)
    one_artist = read_tracks(
        _table(tmp_path, "one.csv", "track_id,artist\n" + "".join(f"t{i},Solo\n" for i in range(12)))
    )
    with pytest.raises(MSDDataError, match=r"come from 1 artist\(s\).*artist-disjoint.*at least three artists"):
        assign_split(one_artist, tags, ["rock"], catalogue_audio_paths(one_artist, listing), TABLES)


# --- 12. msd-tagging-runs and broken versions ---------------------------------


@pytest.mark.parametrize(
    "content",
    ['{"no_rows": 1}', "[1, 2]", '{"rows": [{"method": "VGG", "roc_auc": 0.8, "pr_auc": 0.3}, '
     '{"method": "VGG", "roc_auc": 0.8, "pr_auc": 0.3}]}', '{"rows": [{"method": "VGG", "roc_auc": "high", "pr_auc": 0.3}]}',
     None, '{"rows": ['],
)  # fmt: skip
def test_a_broken_table_version_is_skipped_with_a_warning_naming_it(tmp_path, content, caplog):
    from msd_tagging.framework.runs import load_versions, main
    from tests.test_runs import _save

    _save(tmp_path, "2026-11-24T18.00.00.000Z", 0.8)
    broken = tmp_path / "table_1.json" / "2026-11-24T19.00.00.000Z" / "table_1.json"
    broken.parent.mkdir(parents=True)
    broken.mkdir() if content is None else broken.write_text(content)
    _save(tmp_path, "2026-11-24T20.00.00.000Z", 0.9)
    with caplog.at_level(logging.WARNING):
        versions = load_versions(tmp_path)
    assert sorted(set(versions["version"])) == ["2026-11-24T18.00.00.000Z", "2026-11-24T20.00.00.000Z"]
    assert f"Skipping {broken}" in caplog.text
    assert load_versions(tmp_path, last=1)["version"].unique().tolist() == ["2026-11-24T20.00.00.000Z"]
    for bad in ("-1", "0"):
        with pytest.raises(SystemExit):
            main(["--reporting", str(tmp_path), "--last", bad])


# --- 13. credentials stay out of git and out of the package ------------------------------


def test_credentials_of_any_env_are_git_ignored_and_never_packaged(tmp_path):
    from msd_tagging.cli import conf_archive

    for path in ("conf/shop/credentials.yml", "conf/base/credentials.yml", "conf/catalogue/db_credentials.yml"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0
        assert ignored, f"{path} would be committed"
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    shutil.copytree(conf / "catalogue", conf / "shop")
    (conf / "shop" / "credentials.yml").write_text("db: {user: me, password: secret}\n")
    (conf / "local" / "credentials.yml").write_text("s3: {key: k}\n")
    import tarfile

    with tarfile.open(conf_archive(conf, tmp_path / "dist" / "conf.tar.gz")) as tar:
        names = tar.getnames()
        assert "conf/shop/globals.yml" in names and "conf/base/catalog.yml" in names
        assert not [n for n in names if "credentials" in n or n.startswith("conf/local/")]
        assert all(b"secret" not in tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())


@pytest.mark.filterwarnings("ignore::DeprecationWarning:kedro_viz")
def test_kedro_package_is_the_projects_own_command():
    from click.testing import CliRunner
    from kedro.framework.cli.cli import KedroCLI

    result = CliRunner().invoke(KedroCLI(REPO), ["package", "--help"])
    assert result.exit_code == 0 and "without credentials" in result.output


# --- 14. a copied env's own parameters file keeps every default ------------------------


def test_a_copied_envs_own_ingestion_file_keeps_the_defaults_of_base(tmp_path):
    from kedro.config import OmegaConfigLoader
    from kedro.validation import ParameterValidator

    from msd_tagging import settings
    from msd_tagging.pipeline_registry import register_pipelines

    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    shutil.copytree(conf / "catalogue", conf / "shop")
    (conf / "shop" / "parameters_ingestion.yml").write_text("ingestion:\n  source: tables\n  tag_threshold: 0\n")
    loader = OmegaConfigLoader(str(conf), **settings.CONFIG_LOADER_ARGS, env="shop")
    ingestion = ParameterValidator(register_pipelines()).validate_raw_params(loader["parameters"])["ingestion"]
    assert ingestion.max_unknown_id_fraction == 0.01 and ingestion.split.seed == 20191104
    assert ingestion.vocabulary.top_n == 50 and ingestion.tag_threshold == 0


# --- friction: encodings, not-audio details, heartbeats ---------------------------------


def test_a_table_in_another_encoding_names_the_line_and_how_to_declare_it(tmp_path):
    latin = "track_id,artist\nt1,Bjork\nt2,Sigur R\xf3s\n".encode("latin-1")
    with pytest.raises(
        Exception, match=r"latin.csv: the table is not UTF-8: line 3 holds byte 0xF3.*encoding: latin-1"
    ):
        _table(tmp_path, "latin.csv", latin)
    assert read_tracks(_table(tmp_path, "latin2.csv", latin, encoding="latin-1"))["artist"].tolist() == [
        "Bjork",
        "Sigur Rós",
    ]
    utf16 = "track_id,artist\nt1,A\n".encode("utf-16")
    with pytest.raises(Exception, match=r"utf16.csv: the table is UTF-16 \(byte-order mark FF FE\).*encoding: utf-16"):
        _table(tmp_path, "utf16.csv", utf16)


def test_a_file_that_is_not_audio_says_what_it_holds(tmp_path):
    from msd_tagging.audio.signal import DamageConfig, MelConfig, check_and_extract

    page = tmp_path / "page.mp3"
    page.write_bytes(b"<!DOCTYPE html><html><body>404 Not Found</body></html>")
    _, status, detail = check_and_extract(page, MelConfig(), DamageConfig())
    assert status == "not_audio" and "an HTML page" in detail and "does not exist" not in detail
    pointer = tmp_path / "lfs.mp3"
    pointer.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:1\n")
    assert "a Git LFS pointer" in check_and_extract(pointer, MelConfig(), DamageConfig())[2]


def test_tag_audio_outside_a_terminal_logs_a_heartbeat(tmp_path, caplog):
    from msd_tagging.demo.synth import render_track
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files
    from tests.test_tag_audio import ATTRS, AUDIO_ARGS, _model, _params

    folder = tmp_path / "new"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"{i}.wav", render_track(ATTRS, sample_rate=16000, seconds=2.0, seed=i), 16000)
    with caplog.at_level(logging.INFO, logger="msd_tagging.pipelines.tag_audio.nodes"):
        tag_audio_files(_model(), _params(folder, pattern="wav", heartbeat_seconds=1e-9), *AUDIO_ARGS)
    beats = [r.getMessage() for r in caplog.records if " files/s" in r.getMessage()]
    assert beats and "h of audio" in beats[-1] and "files/s" in beats[-1]


def test_readers_never_turn_a_missing_value_into_text():
    frame = pd.DataFrame({"track_id": ["t1", "t2"], "artist": [None, "nan"], "title": [np.nan, "x"]})
    frame.attrs = {"source": "tracks.parquet", "format": "parquet"}
    tracks = read_tracks(frame)
    assert tracks["artist"].tolist() == [None, "nan"] and tracks["title"].tolist() == [None, "x"]


def test_a_folder_the_user_cannot_list_and_a_split_without_audio_are_named(tmp_path, caplog, monkeypatch):
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio

    audio = tmp_path / "audio"
    (audio / "locked").mkdir(parents=True)
    for name in ("t1.mp3", "t2.mp3", "locked/t3.mp3"):
        (audio / name).write_bytes(b"x")
    real_scandir = os.scandir

    def scandir(path="."):  # as for a folder whose permissions forbid listing (tests may run as root)
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with caplog.at_level(logging.WARNING):
        listing = AudioListingDataset(str(audio)).load()
    monkeypatch.undo()
    assert "1 folder(s) under the audio root cannot be listed" in caplog.text
    assert listing.attrs["unreadable_folders"] == [f"{audio / 'locked'}: Permission denied"]
    tracks = pd.DataFrame({"track_id": ["t1", "t2", "t3"], "audio_path": [None, None, "locked/t3.mp3"]})
    tracks["split"] = ["train", "valid", "test"]
    loose = dataclasses.replace(TABLES, max_missing_audio_fraction=0.5)
    with pytest.raises(MSDDataError, match=r"no test track has a usable audio file \(1 test tracks\), e.g. t3"):
        resolve_audio(tracks, catalogue_audio_paths(tracks, listing), listing, loose)
