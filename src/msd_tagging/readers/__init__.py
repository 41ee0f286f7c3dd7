"""Readers of the Million Song Dataset's public file formats.

Pure functions: a path in, a validated pandas object out. Every structural problem
raises :class:`msd_tagging.core.errors.MSDDataError` naming the file and line or the ID.
The same readers serve the embedded demo world and a user's real MSD files.
"""

from msd_tagging.readers.audio_paths import (
    AudioPathIndex,
    read_7digital_maps,
    read_audio_index,
    safe_relative_path,
    track_id_audio_path,
)
from msd_tagging.readers.ids import is_song_id, is_track_id, is_user_id
from msd_tagging.readers.lastfm import (
    normalise_tag,
    read_lastfm_json_tree,
    read_lastfm_tags_db,
    read_tag_list,
    tags_in_vocabulary,
)
from msd_tagging.readers.splits import read_split_pickle, split_train_valid
from msd_tagging.readers.taste import read_manually_accepted, read_sid_mismatches, read_triplets
from msd_tagging.readers.tracks import read_unique_tracks

__all__ = [
    "AudioPathIndex",
    "is_song_id",
    "is_track_id",
    "is_user_id",
    "normalise_tag",
    "read_7digital_maps",
    "read_audio_index",
    "read_lastfm_json_tree",
    "read_lastfm_tags_db",
    "read_manually_accepted",
    "read_sid_mismatches",
    "read_split_pickle",
    "read_tag_list",
    "read_triplets",
    "read_unique_tracks",
    "safe_relative_path",
    "split_train_valid",
    "tags_in_vocabulary",
    "track_id_audio_path",
]
