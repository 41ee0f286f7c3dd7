"""Ingestion source for the Million Song Dataset's own files: the Taste Profile's triplets
and wrong matches, ``unique_tracks``, ``lastfm_tags.db``, the 50-tag list and Pons et
al.'s split (``ingestion.source: msd``; the demo world is written in these formats)."""

import pandas as pd
from kedro.pipeline import Pipeline, node

from msd_tagging.listening.plays import build_plays, map_songs_to_tracks
from msd_tagging.params import IngestionParams
from msd_tagging.pipelines.ingestion import nodes

SOURCE = "msd"
ROLES = {"tag_rows": "lastfm_tags", "audio_index": "audio_paths", "tag_list": "tag_list"}
RAW = ("raw_data", "split_train", "split_test", "unique_tracks", "sid_mismatches", "manually_accepted",
       "taste_triplets")  # fmt: skip


def split_tracks_and_metadata(
    raw_data: dict, split_train: list[str], split_test: list[str], unique_tracks: pd.DataFrame, params: IngestionParams
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The split tracks and their stats (:func:`~msd_tagging.pipelines.ingestion.nodes.build_tracks`),
    and every track's artist and title, from ``unique_tracks``; after ``draw_world``
    (``raw_data``), which writes the files they read."""
    tracks, stats = nodes.build_tracks(raw_data, split_train, split_test, unique_tracks, params)
    return tracks, stats, nodes.track_metadata(unique_tracks)


def create_pipeline(**kwargs) -> Pipeline:
    source = Pipeline(
        [
            node(
                split_tracks_and_metadata,
                inputs=["raw_data", "split_train", "split_test", "unique_tracks", "params:ingestion"],
                outputs=["split_tracks", "split_stats", "track_metadata"],
                name="build_tracks",
            ),
            node(
                map_songs_to_tracks,
                inputs=["unique_tracks", "sid_mismatches", "manually_accepted", "split_tracks"],
                outputs=["song_tracks", "song_stats"],
                name="map_songs_to_tracks",
            ),
            node(
                build_plays,
                inputs=["taste_triplets", "song_tracks"],
                outputs=["plays_by_id", "play_stats"],
                name="build_plays",
            ),
        ]
    )
    from msd_tagging.pipelines.ingestion.sources import OUTPUTS

    return Pipeline(
        source,
        namespace=SOURCE,
        inputs=set(RAW),
        outputs=set(OUTPUTS),
        parameters={"params:ingestion"},
        tags=["ingestion"],
    )
