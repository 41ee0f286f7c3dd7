"""Ingestion nodes on constructed cases whose answer is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.mapping import IdMaps
from msd_tagging.listening.plays import build_plays, map_songs_to_tracks
from msd_tagging.params import IngestionParams
from msd_tagging.pipelines.ingestion import nodes
from msd_tagging.readers import AudioPathIndex

PARAMS = IngestionParams(
    n_train=2, tag_threshold=50, max_missing_audio_fraction=0.5, report_max_listed=10, max_bad_tag_rows_fraction=0.01
)


def tid(i: int) -> str:
    return f"TRAAA{i:013d}"


def sid(i: int) -> str:
    return f"SOAAA{i:013d}"


def uid(i: int) -> str:
    return f"{i:040x}"


@pytest.fixture
def unique_tracks():
    # songs 0..4 one track each; song 5 has two tracks (5 in the split, 6 outside).
    rows = [(tid(i), sid(i), f"artist {i}", f"title {i}") for i in range(5)]
    rows += [(tid(5), sid(5), "a", "t"), (tid(6), sid(5), "a", "t (remaster)")]
    return pd.DataFrame(rows, columns=["track_id", "song_id", "artist", "title"])


@pytest.fixture
def split_tracks(unique_tracks):
    tracks, _ = nodes.build_tracks(
        {"manifest": {"source": "test"}}, [tid(0), tid(1), tid(2)], [tid(3), tid(5)], unique_tracks, PARAMS
    )
    return tracks


def test_build_tracks_splits_in_order(split_tracks):
    assert split_tracks["split"].tolist() == ["train", "train", "valid", "test", "test"]
    assert split_tracks["song_id"].tolist() == [sid(0), sid(1), sid(2), sid(3), sid(5)]


def test_build_tracks_refuses_train_test_leak(unique_tracks):
    with pytest.raises(
        MSDDataError, match=rf"in both filtered_list_train\.cP and filtered_list_test\.cP, e\.g\. {tid(1)}"
    ):
        nodes.build_tracks({}, [tid(0), tid(1), tid(2)], [tid(1)], unique_tracks, PARAMS)


def test_the_msd_split_stays_as_published_when_untagged_tracks_are_unlabelled(unique_tracks, caplog):
    """``ingestion.untagged: unlabelled`` is a catalogue's setting: the Pons split is used as
    it is, and the log says so."""
    import dataclasses
    import logging

    unlabelled = dataclasses.replace(PARAMS, untagged="unlabelled")
    with caplog.at_level(logging.INFO):
        tracks, stats = nodes.build_tracks({}, [tid(0), tid(1), tid(2)], [tid(3), tid(5)], unique_tracks, unlabelled)
    plain, _ = nodes.build_tracks({}, [tid(0), tid(1), tid(2)], [tid(3), tid(5)], unique_tracks, PARAMS)
    pd.testing.assert_frame_equal(tracks, plain)
    assert stats["untagged"]["as"] == "negative" and "the MSD's split is used as published" in caplog.text


def test_songs_to_tracks_drops_mismatches_keeps_accepted(unique_tracks, split_tracks):
    mismatches = pd.DataFrame({"song_id": [sid(1), sid(2)], "track_id": [tid(1), tid(2)]})
    accepted = pd.DataFrame({"song_id": [sid(2)], "track_id": [tid(2)]})
    song_tracks, stats = map_songs_to_tracks(unique_tracks, mismatches, accepted, split_tracks)
    mapping = dict(zip(song_tracks["song_id"], song_tracks["track_id"], strict=True))
    assert pd.isna(mapping[sid(1)])  # wrong match dropped
    assert mapping[sid(2)] == tid(2)  # manually accepted, kept
    assert mapping[sid(5)] == tid(5)  # the song's track in the split gets its plays, not the remaster
    assert stats["pairs_dropped_sid_mismatch"] == 1
    assert stats["pairs_kept_manually_accepted"] == 1
    assert stats["songs_with_several_tracks"] == 1


def test_songs_to_tracks_is_deterministic_without_split_tracks(unique_tracks):
    tracks = pd.DataFrame({"track_id": [tid(0)], "split": ["train"]})
    shuffled = unique_tracks.sample(frac=1, random_state=3)
    a, _ = map_songs_to_tracks(unique_tracks, unique_tracks.iloc[:0, :2], unique_tracks.iloc[:0, :2], tracks)
    b, _ = map_songs_to_tracks(shuffled, unique_tracks.iloc[:0, :2], unique_tracks.iloc[:0, :2], tracks)
    assert dict(zip(a["song_id"], a["track_id"], strict=True)) == dict(zip(b["song_id"], b["track_id"], strict=True))
    assert dict(zip(a["song_id"], a["track_id"], strict=True))[sid(5)] == tid(5)  # smallest ID wins


def _triplets(rows):
    frame = pd.DataFrame(rows, columns=["user_id", "song_id", "play_count"])
    return frame.astype({"user_id": "category", "song_id": "category"})


def test_build_plays_merges_repeats_and_counts_drops():
    song_tracks = pd.DataFrame({"song_id": [sid(0), sid(1), sid(2)], "track_id": [tid(0), None, tid(2)]})
    triplets = _triplets(
        [
            (uid(1), sid(0), 3),
            (uid(1), sid(0), 2),  # repeated (user, song): merged into 5
            (uid(1), sid(1), 4),  # song whose match was wrong
            (uid(2), sid(9), 1),  # song not in unique_tracks
            (uid(2), sid(2), 0),  # count below 1
            (uid(2), sid(2), 7),
        ]
    )
    plays, stats = build_plays(triplets, song_tracks)
    got = {
        (u, t): c
        for u, t, c in zip(
            plays["user_id"].astype(str), plays["track_id"].astype(str), plays["play_count"], strict=True
        )
    }
    assert got == {(uid(1), tid(0)): 5, (uid(2), tid(2)): 7}
    assert stats["rows_read"] == 6
    assert stats["rows_dropped"] == {"play_count_below_1": 1, "song_not_in_unique_tracks": 1, "song_track_mismatch": 1}
    assert stats["repeated_user_song_rows_merged"] == 1
    assert plays["play_count"].dtype == np.int32


def test_id_maps_and_indexed_plays(split_tracks):
    song_tracks = pd.DataFrame({"song_id": [sid(0), sid(6)], "track_id": [tid(0), tid(6)]})
    plays, _ = build_plays(_triplets([(uid(1), sid(0), 2), (uid(2), sid(6), 1)]), song_tracks)
    maps = nodes.build_id_maps(split_tracks, plays, song_tracks, pd.DataFrame(columns=["track_id", "rock", "pop"]))
    assert list(maps.ids("tracks")) == [tid(0), tid(1), tid(2), tid(3), tid(5), tid(6)]  # split first, then played
    indexed = nodes.index_plays(plays, maps)
    assert maps.lookup("tracks", indexed["track_idx"]).tolist() == plays["track_id"].astype(str).tolist()
    assert maps.lookup("users", indexed["user_idx"]).tolist() == plays["user_id"].astype(str).tolist()


def test_id_maps_never_give_minus_one():
    maps = IdMaps.build(tracks=[tid(0), tid(1)])
    assert maps.index("tracks", [tid(1), tid(0)]).tolist() == [1, 0]
    with pytest.raises(MSDDataError, match=rf"track '{tid(7)}' is not in the tracks map"):
        maps.index("tracks", [tid(0), tid(7)])


def test_tag_labels_merge_spellings_and_threshold(split_tracks):
    # two more validation tracks, and a test positive: validation and test can measure something
    more = pd.DataFrame({"track_id": [tid(6), tid(7)], "song_id": None, "artist": "", "title": "", "split": "valid"})
    tracks = pd.concat([split_tracks, more], ignore_index=True)
    lastfm = pd.DataFrame(
        {
            "track_id": [tid(0), tid(0), tid(1), tid(1), tid(2), tid(3), tid(9), tid(6), tid(5)],
            "tag": ["hip hop", " HIP-HOP ", "Hip-Hop", "rock", "seen live", "ROCK", "rock", "rock", "rock"],
            "weight": [30.0, 80.0, 40.0, 51.0, 100.0, 50.0, 100.0, 90.0, 90.0],
        }
    )
    labels, crowd, stats = nodes.build_tag_labels(tracks, lastfm, ["rock", "Hip-Hop"], PARAMS)
    assert labels.columns.tolist() == ["track_id", "rock", "Hip-Hop"]
    assert labels.set_index("track_id").loc[[tid(0), tid(1), tid(2), tid(3)]].to_numpy().tolist() == [
        [0, 1],  # best of two spellings (80) is above 50
        [1, 0],  # 51 > 50, but 40 is not
        [0, 0],  # only a tag outside the vocabulary
        [0, 0],  # 50 is not above 50
    ]
    assert stats["lastfm_rows_dropped"] == {"track_not_in_splits": 1, "tag_not_in_vocabulary": 1}
    assert stats["spelling_variants_merged"]["Hip-Hop"] == {"hip hop": 1, " HIP-HOP ": 1}


def test_resolve_audio_statuses(split_tracks):
    files = ["A/A/A/" + tid(i) + ".mp3" for i in (0, 1, 2, 5)]
    listing = pd.DataFrame({"path": files, "size_bytes": [1000, 0, 1000, 1000]})
    tracks, stats = nodes.resolve_audio(
        split_tracks, AudioPathIndex(), listing, dataclasses.replace(PARAMS, max_missing_audio_fraction=0.9)
    )
    assert tracks["audio_status"].tolist() == ["ok", "empty", "ok", "missing", "ok"]
    assert stats["tracks_without_audio"]["empty"] == [
        {"track_id": tid(1), "path": f"A/A/A/{tid(1)}.mp3", "split": "train"}
    ]
    with pytest.raises(MSDDataError, match=r"2 of 5 split tracks \(40\.0%\) have no usable audio file"):
        nodes.resolve_audio(
            split_tracks, AudioPathIndex(), listing, dataclasses.replace(PARAMS, max_missing_audio_fraction=0.3)
        )
    no_test_audio = listing.iloc[:3]
    with pytest.raises(MSDDataError, match=r"no test track has a usable audio file \(2 test tracks\)"):
        nodes.resolve_audio(
            split_tracks, AudioPathIndex(), no_test_audio, dataclasses.replace(PARAMS, max_missing_audio_fraction=0.9)
        )
