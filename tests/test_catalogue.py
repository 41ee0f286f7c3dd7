"""A catalogue's plain tables: the readers and their bad inputs, the artist-disjoint split,
the vocabulary, and the demo world exported as tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from msd_tagging.catalogue.splitting import SplitConfig, artist_disjoint_split, split_balance
from msd_tagging.core.errors import MSDDataError, ParameterError
from msd_tagging.datasets import TableDataset
from msd_tagging.params import IngestionParams, VocabularyConfig
from msd_tagging.pipelines.ingestion.tables import (
    assign_split,
    catalogue_audio_paths,
    choose_vocabulary,
    plays_by_track,
    read_catalogue_plays,
    read_catalogue_tags,
)
from msd_tagging.readers.tables import read_plays, read_tags, read_tracks

INGESTION = IngestionParams(source="tables", tag_threshold=50, max_unknown_id_fraction=0.01)


def _table(tmp_path, name: str, text: str | bytes) -> pd.DataFrame:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return TableDataset(str(path)).load()


def test_csv_tsv_and_parquet_read_the_same(tmp_path):
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "track_id": ["007", "t2"], "plays": [3, 1]})
    frame.to_parquet(tmp_path / "plays.parquet")
    frame.to_csv(tmp_path / "plays.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "plays.csv.gz", index=False)
    loaded = [TableDataset(str(tmp_path / n)).load() for n in ("plays.parquet", "plays.tsv", "plays.csv.gz")]
    for table in loaded:
        plays = read_plays(table)
        assert plays["track_id"].tolist() == ["007", "t2"]  # leading zeros kept: IDs are text
        assert plays["play_count"].tolist() == [3, 1]
    (tmp_path / "plays.xlsx").touch()
    with pytest.raises(DatasetError, match=r"plays.xlsx: cannot tell the table's format"):
        TableDataset(str(tmp_path / "plays.xlsx")).load()


@pytest.mark.bad_input
def test_a_bom_and_crlf_line_endings_read_as_plain_csv(tmp_path):
    plain = read_plays(_table(tmp_path, "a.csv", "user_id,track_id,plays\nu1,t1,2\nu2,t1,5\n"))
    excel = read_plays(_table(tmp_path, "b.csv", b"\xef\xbb\xbfuser_id,track_id,plays\r\nu1,t1,2\r\nu2,t1,5\r\n"))
    pd.testing.assert_frame_equal(plain, excel)


@pytest.mark.bad_input
def test_a_missing_column_names_the_file_and_the_columns_it_has(tmp_path):
    table = _table(tmp_path, "plays.csv", "user,track_id,plays\nu1,t1,2\n")
    with pytest.raises(MSDDataError, match=r"plays.csv: the plays table has no column 'user_id' \(its columns: 'user'"):
        read_plays(table)
    tags = _table(tmp_path, "tags.csv", "track_id,label\nt1,rock\n")
    with pytest.raises(MSDDataError, match=r"tags.csv: the tags table has no column 'tag'.*Fix: name the columns"):
        read_tags(tags)


@pytest.mark.bad_input
def test_a_wrong_type_names_the_column_and_the_line(tmp_path):
    table = _table(tmp_path, "plays.csv", "user_id,track_id,plays\nu1,t1,2\nu2,t1,many\nu3,t2,1.5\n")
    with pytest.raises(
        MSDDataError, match=r"plays.csv: column 'plays' must hold a whole number of 0 or more; line 3 has 'many'"
    ):
        read_plays(table)
    tags = _table(tmp_path, "tags.csv", "track_id,tag,weight\nt1,rock,high\n")
    with pytest.raises(MSDDataError, match=r"tags.csv: column 'weight' must hold a number; line 2"):
        read_tags(tags)
    tracks = _table(tmp_path, "tracks.csv", "track_id,split\nt1,training\n")
    with pytest.raises(MSDDataError, match=r"column 'split' holds 'training'; expected train, valid, test"):
        read_tracks(tracks)


@pytest.mark.bad_input
def test_duplicate_rows_are_merged_and_counted_and_conflicting_tracks_stop(tmp_path):
    plays = read_plays(_table(tmp_path, "plays.csv", "user_id,track_id,plays\nu1,t1,2\nu1,t1,3\nu2,t1,1\n"))
    assert plays["play_count"].tolist() == [5, 1]
    assert plays.attrs["merged_rows"]["repeated_user_track_rows"] == 1
    listens = read_catalogue_plays(
        None,
        _table(tmp_path, "l.csv", "user_id,track_id,timestamp\nu1,t1,10\nu1,t1,10\nu1,t1,11\n"),
        dataclasses.replace(INGESTION, max_repeated_listen_fraction=0.5),
    )
    assert listens["play_count"].tolist() == [2] and listens.attrs["merged_rows"]["listen_logged_twice"] == 1
    tags = read_tags(_table(tmp_path, "tags.csv", "track_id,tag,weight\nt1,rock,90\nt1,rock,90\nt1, ,80\n"))
    assert (
        len(tags) == 1
        and tags.attrs["merged_rows"]["repeated_row"] == 1
        and tags.attrs["dropped_rows"]["blank_tag"] == 1
    )
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id,artist\nt1,A\nt1,A\nt2,B\n"))
    assert tracks["track_id"].tolist() == ["t1", "t2"] and tracks.attrs["merged_rows"]["repeated_row"] == 1
    with pytest.raises(MSDDataError, match=r"tracks2.csv: track 't1' is listed 2 times with different data"):
        read_tracks(_table(tmp_path, "tracks2.csv", "track_id,artist\nt1,A\nt1,B\n"))


@pytest.mark.bad_input
def test_unknown_track_ids_are_dropped_and_counted_up_to_a_share_then_stop(tmp_path):
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id\n" + "".join(f"t{i}\n" for i in range(200))))
    rows = "".join(f"u{i},t{i},1\n" for i in range(200)) + "u1,ghost,4\n"
    plays = read_plays(_table(tmp_path, "plays.csv", "user_id,track_id,plays\n" + rows))
    by_id, stats, _, _ = plays_by_track(plays, tracks, INGESTION)
    assert stats["rows_dropped"]["track_not_in_tracks_table"] == 1 and "ghost" not in set(by_id["track_id"])
    tags = _table(tmp_path, "tags.csv", "track_id,tag\nt1,rock\nghost,jazz\nphantom,pop\n")
    with pytest.raises(
        MSDDataError, match=r"tags.csv: 2 of 3 rows \(66.7%\) name a track_id the tracks table lacks, e.g. 'ghost'"
    ):
        read_catalogue_tags(tags, tracks, INGESTION)


@pytest.mark.bad_input
def test_an_empty_file_or_table_names_the_file(tmp_path):
    with pytest.raises(DatasetError, match=r"empty.csv: the table is empty"):  # Kedro wraps a load's error
        _table(tmp_path, "empty.csv", "")
    with pytest.raises(MSDDataError, match=r"header.csv: the tags table has no rows"):
        read_tags(_table(tmp_path, "header.csv", "track_id,tag\n"))
    with pytest.raises(DatasetError, match=r"absent.csv: the table does not exist"):
        TableDataset(str(tmp_path / "absent.csv")).load()
    assert TableDataset(str(tmp_path / "absent.csv"), optional=True).load() is None
    with pytest.raises(MSDDataError, match="neither a plays table nor a listen log"):
        read_catalogue_plays(None, None, INGESTION)


@pytest.mark.bad_input
def test_an_empty_vocabulary_and_a_split_without_positives_are_named(tmp_path):
    tracks = read_tracks(_table(tmp_path, "tracks.csv", "track_id,artist,split\nt1,A,train\nt2,B,test\nt3,C,valid\n"))
    tags = read_tags(_table(tmp_path, "tags.csv", "track_id,tag,weight\nt1,rock,10\nt2,jazz,20\n"))
    with pytest.raises(
        MSDDataError,
        match=r"tags.csv: the vocabulary is empty: no tag row has a weight above .*=50 \(highest weight: 20\)",
    ):
        choose_vocabulary(tags, tracks, INGESTION)
    tags = read_tags(_table(tmp_path, "tags2.csv", "track_id,tag,weight\nt1,rock,90\nt2,jazz,90\n"))
    paths = catalogue_audio_paths(tracks, pd.DataFrame({"path": ["t1.mp3", "t2.mp3", "t3.mp3"], "size_bytes": 1}))
    _, stats = assign_split(tracks, tags, ["rock", "jazz"], paths, INGESTION)
    short = stats["balance"]["tags_short_of_positives"]
    assert short["train"] == ["jazz"] and short["test"] == ["rock"] and short["valid"] == ["rock", "jazz"]


def test_vocabulary_merges_spellings_and_counts_tracks_not_rows(tmp_path):
    rows = "track_id,tag,weight\nt1,Hip-Hop,90\nt2,hip hop,90\nt3,hip-hop,80\nt1,rock,90\nt1,rock,95\nt2,jazz,10\n"
    tags = read_tags(_table(tmp_path, "tags.csv", rows))
    assert choose_vocabulary(tags, None, INGESTION) == ["Hip-Hop", "rock"]  # jazz is below the threshold
    assert choose_vocabulary(tags, None, dataclasses.replace(INGESTION, vocabulary=VocabularyConfig(top_n=1))) == [
        "Hip-Hop"
    ]
    given = dataclasses.replace(INGESTION, vocabulary=VocabularyConfig(tags=["jazz", "rock"]))
    assert choose_vocabulary(tags, None, given) == ["jazz", "rock"]
    unweighted = read_tags(_table(tmp_path, "plain.csv", "track_id,tag\nt1,jazz\nt2,jazz\nt1,rock\n"))
    assert choose_vocabulary(unweighted, None, INGESTION) == ["jazz", "rock"]  # any row is a positive


def _catalogue(n_artists: int = 120, seed: int = 0) -> tuple[pd.Series, np.ndarray]:
    rng = np.random.default_rng(seed)
    per_artist = rng.integers(1, 12, size=n_artists)
    artists = pd.Series(np.repeat([f"artist {i}" for i in range(n_artists)], per_artist))
    genre = np.repeat(rng.integers(0, 6, size=n_artists), per_artist)  # an artist mostly keeps a genre
    labels = np.zeros((len(artists), 8), dtype=np.uint8)
    labels[np.arange(len(artists)), genre] = 1
    labels[:, 6] = rng.random(len(artists)) < 0.3
    labels[:, 7] = rng.random(len(artists)) < 0.02  # a rare tag
    return artists, labels


def test_the_split_keeps_every_artist_in_one_split_and_follows_the_seed():
    artists, labels = _catalogue()
    config = SplitConfig(proportions=(0.8, 0.1, 0.1), seed=3, min_split_tracks=0)  # the shares as given
    split = artist_disjoint_split(artists, labels, config)
    assert pd.Series(split).groupby(artists.to_numpy()).nunique().max() == 1
    assert (split == artist_disjoint_split(artists, labels, config)).all()
    other = artist_disjoint_split(artists, labels, SplitConfig(proportions=(0.8, 0.1, 0.1), seed=4, min_split_tracks=0))
    assert not (split == other).all()
    balance = split_balance(split, labels, [f"t{i}" for i in range(8)], artists, config)
    assert balance["artists_in_several_splits"] == 0
    shares = {s: balance["sizes"][s] / len(split) for s in ("train", "valid", "test")}
    assert shares["train"] == pytest.approx(0.8, abs=0.06) and shares["test"] == pytest.approx(0.1, abs=0.05)
    for s in ("train", "valid", "test"):  # every tag lands near the split's share of tracks
        assert balance["tag_share"][s]["largest_gap"] < 0.06
    assert balance["tags_short_of_positives"]["train"] == []


def test_tracks_without_an_artist_are_split_one_by_one():
    artists = pd.Series([None] * 60 + ["A"] * 40, dtype=object)
    labels = np.ones((100, 1), dtype=np.uint8)
    split = artist_disjoint_split(artists, labels, SplitConfig(proportions=(0.5, 0.0, 0.5), seed=0))
    assert len(set(split[60:])) == 1  # the artist's tracks stay together
    assert set(split[:60]) == {"train", "test"}  # each artist-less track on its own
    assert (split == "train").sum() == 50


def test_split_settings_are_checked():
    with pytest.raises(ParameterError, match="ingestion.split.proportions"):
        SplitConfig(proportions=(1.0, 0.0))
    with pytest.raises(ParameterError, match="train and test need a share"):
        SplitConfig(proportions=(1.0, 0.0, 0.0))
    assert SplitConfig(proportions=(8, 1, 1)).proportions == pytest.approx((0.8, 0.1, 0.1))


def test_audio_is_found_by_path_or_by_track_id():
    tracks = pd.DataFrame({"track_id": ["a", "b", "c", "d"], "audio_path": ["x/own.flac", None, None, None]})
    listing = pd.DataFrame(
        {"path": ["x/own.flac", "deep/b.ogg", "b.wav", "c.txt", "notes/d.mp3"], "size_bytes": [1, 1, 1, 1, 1]}
    )
    paths = catalogue_audio_paths(tracks, listing).paths_for(tracks["track_id"])
    assert paths.tolist() == ["x/own.flac", "b.wav", None, "notes/d.mp3"]  # shallowest first; .txt is no audio


def test_the_demo_world_exports_tables_its_own_readers_accept(tiny_world):
    from msd_tagging.demo.writer import catalogue_tables

    tables = catalogue_tables(tiny_world)
    tracks = read_tracks(tables["tracks"].assign(split=tables["tracks"]["split"].replace("", None)))
    assert tracks["track_id"].is_unique and len(tracks) == len(tiny_world.tracks)
    assert tracks["split"].dropna().tolist() == ["train"] * 60 + ["valid"] * 12 + ["test"] * 24
    plays = read_plays(tables["plays"].astype(str))
    assert plays["track_id"].isin(tracks["track_id"]).all() and (plays["play_count"] >= 1).all()
    assert set(read_tags(tables["tags"].astype(str))["track_id"]) <= set(tracks["track_id"])


def test_a_small_catalogues_made_split_grows_valid_and_test_and_a_small_split_is_warned(caplog):
    from msd_tagging.catalogue.splitting import PONS_PROPORTIONS, SplitConfig, scaled_proportions

    config = SplitConfig()
    assert scaled_proportions(config, 241_889) == pytest.approx(PONS_PROPORTIONS)  # the MSD's size: Pons' shares
    train, valid, test = scaled_proportions(config, 1_949)  # the catalogue of issue 24: 95 valid tracks before
    assert valid * 1_949 >= 200 and test * 1_949 >= 200 and train == pytest.approx(1 - valid - test)
    assert scaled_proportions(config, 300)[1:] == (0.2, 0.25)  # capped: train keeps the most
    assert scaled_proportions(SplitConfig(min_split_tracks=0), 1_949) == pytest.approx(PONS_PROPORTIONS)
    artists = pd.Series([f"a{i}" for i in range(1_949)])
    labels = np.random.default_rng(0).random((1_949, 5)) < 0.2
    split = artist_disjoint_split(artists, labels, config)
    assert (split == "valid").sum() >= 195 and (split == "test").sum() >= 195
    from msd_tagging.pipelines.ingestion.tables import _report_split_sizes

    balance = {"sizes": {"train": 1625, "valid": 95, "test": 229}, "tags_short_of_positives": {}}
    with caplog.at_level("WARNING"):
        _report_split_sizes(balance, config, True, 1_949)  # a given split: not grown, warned
    assert balance["small_splits"] == {"valid": 95} and "Small split(s): valid 95 tracks" in caplog.text
