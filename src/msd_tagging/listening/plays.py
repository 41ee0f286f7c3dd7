"""Plays per (user, track): the Taste Profile's songs mapped to tracks, repeats merged.

Both sources of listening data end here: the MSD's triplets (songs, mapped to tracks
through ``unique_tracks`` less the known wrong matches) and a catalogue's plain table of
plays (its songs are its tracks). Categorical codes throughout, so 48M rows stay a few
integer arrays.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError

logger = logging.getLogger(__name__)


def map_songs_to_tracks(
    unique_tracks: pd.DataFrame,
    sid_mismatches: pd.DataFrame,
    manually_accepted: pd.DataFrame,
    tracks: pd.DataFrame,
) -> tuple[pd.DataFrame, dict]:
    """One track per Taste Profile song, from ``unique_tracks`` minus the wrong matches.

    A (song, track) pair listed in ``sid_mismatches.txt`` is dropped unless it is also
    manually accepted. A song with several tracks gives its plays to one of them, so that
    two tracks never share listening data: the one in the splits if any, then the
    smallest track ID (deterministic).

    Returns:
        ``song_id, track_id`` for every song of ``unique_tracks``; ``track_id`` is
        missing where the song's only matches were wrong. And stats.
    """
    pairs = unique_tracks[["song_id", "track_id"]]
    wrong = sid_mismatches.merge(manually_accepted, on=["song_id", "track_id"], how="left", indicator=True)
    wrong = wrong[wrong["_merge"] == "left_only"][["song_id", "track_id"]]
    flagged = pairs.merge(wrong, on=["song_id", "track_id"], how="left", indicator=True)["_merge"] == "both"
    kept = pairs[~flagged.to_numpy()]

    in_split = kept["track_id"].isin(tracks["track_id"])
    canonical = (
        kept.assign(outside_split=~in_split)
        .sort_values(["song_id", "outside_split", "track_id"], kind="stable")
        .drop_duplicates("song_id")[["song_id", "track_id"]]
    )
    all_songs = pd.DataFrame({"song_id": pairs["song_id"].unique()})
    song_tracks = all_songs.merge(canonical, on="song_id", how="left")
    several = kept["song_id"].duplicated(keep=False)
    stats = {
        "pairs_in_unique_tracks": int(len(pairs)),
        "pairs_dropped_sid_mismatch": int(flagged.sum()),
        "pairs_kept_manually_accepted": int(pairs.merge(manually_accepted, on=["song_id", "track_id"]).shape[0]),
        "songs_with_several_tracks": int(kept.loc[several, "song_id"].nunique()),
        "tracks_not_given_plays_as_duplicates": int(several.sum() - kept.loc[several, "song_id"].nunique()),
    }
    return song_tracks, stats


def build_plays(taste_triplets: pd.DataFrame, song_tracks: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Plays per (user, track): Taste Profile songs mapped to tracks, repeats merged.

    Works on category codes, so the full 48M-row Taste Profile stays a few integer
    arrays. Rows are dropped, and counted, when the count is below 1, the song is not
    in ``unique_tracks``, or the song's match to its track is wrong.

    Returns:
        ``user_id, track_id, play_count`` (categorical IDs, int32 counts), and stats.
    """
    users = taste_triplets["user_id"].cat
    counts = taste_triplets["play_count"].to_numpy()
    track_index, row_track, bad_count, unknown, mismatch = _rows_to_tracks(taste_triplets, song_tracks)
    keep = ~(bad_count | unknown | mismatch)

    # A sparse matrix merges the repeats: its canonical form sums them, and lists pairs by
    # user then track, with 32-bit indices (48M pairs as int64 keys, sorted with their
    # inverse, took 5 GB).
    import scipy.sparse as sp

    kept = int(keep.sum())
    matrix = sp.csr_matrix(
        (counts[keep].astype(np.int64), (users.codes.to_numpy()[keep], row_track[keep])),
        shape=(len(users.categories), len(track_index)),
    )
    matrix.sum_duplicates()
    if matrix.data.max(initial=0) > np.iinfo(np.int32).max:
        raise MSDDataError("a merged play count exceeds the int32 range.")
    user_codes = np.repeat(np.arange(matrix.shape[0], dtype=np.int32), np.diff(matrix.indptr))
    plays = pd.DataFrame(
        {
            "user_id": pd.Categorical.from_codes(user_codes, categories=users.categories),
            "track_id": pd.Categorical.from_codes(matrix.indices, categories=track_index),
            "play_count": matrix.data.astype(np.int32),
        }
    )
    del matrix, user_codes
    plays["user_id"] = plays["user_id"].cat.remove_unused_categories()
    stats = {
        "rows_read": int(len(counts)),
        "rows_dropped": {
            "play_count_below_1": int(bad_count.sum()),
            "song_not_in_unique_tracks": int(unknown.sum()),
            "song_track_mismatch": int(mismatch.sum()),
        },
        "repeated_user_song_rows_merged": kept - len(plays),
        "plays_rows": int(len(plays)),
        "users": int(plays["user_id"].cat.categories.size),
        "tracks_with_plays": int(track_index.size),
    }
    logger.info(
        "Plays: %d rows read, %d kept as %d (user, track) pairs; dropped %s",
        stats["rows_read"],
        kept,
        stats["plays_rows"],
        stats["rows_dropped"],
    )
    return plays, stats


def _rows_to_tracks(taste_triplets: pd.DataFrame, song_tracks: pd.DataFrame):
    """Each triplet row's track (a position in the returned track index, -1 for none), and
    the rows to drop: a count below 1, a song not in ``unique_tracks``, a wrong match."""
    songs = taste_triplets["song_id"].cat
    counts = taste_triplets["play_count"].to_numpy()
    mapped = song_tracks.set_index("song_id")["track_id"].reindex(songs.categories)
    known_song = song_tracks["song_id"].pipe(pd.Index).get_indexer(songs.categories) >= 0
    track_index = pd.Index(mapped.dropna().unique())
    track_of_song = track_index.get_indexer(mapped.to_numpy())  # -1 for unmapped songs

    song_codes = songs.codes.to_numpy()
    row_track = track_of_song.astype(np.int32)[song_codes]
    bad_count = counts < 1
    unknown = ~known_song[song_codes] & ~bad_count
    mismatch = known_song[song_codes] & (row_track < 0) & ~bad_count
    return track_index, row_track, bad_count, unknown, mismatch
