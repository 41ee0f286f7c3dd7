"""Ingestion source for the Million Song Dataset's own files: the Taste Profile's triplets
and wrong matches, ``unique_tracks``, ``lastfm_tags.db``, the 50-tag list and Pons et
al.'s split (``ingestion.source: msd``; the demo world is written in these formats)."""

from kedro.pipeline import Pipeline, node

from msd_tagging.listening.plays import build_plays, map_songs_to_tracks
from msd_tagging.pipelines.ingestion import nodes

SOURCE = "msd"
ROLES = {"tag_rows": "lastfm_tags", "audio_index": "audio_paths", "tag_list": "tag_list"}
RAW = ("raw_inventory", "split_train", "split_test", "unique_tracks", "sid_mismatches", "manually_accepted",
       "taste_triplets")  # fmt: skip


def create_pipeline(**kwargs) -> Pipeline:
    source = Pipeline(
        [
            node(
                nodes.build_tracks,
                inputs=["raw_inventory", "split_train", "split_test", "unique_tracks", "params:ingestion"],
                outputs=["split_tracks", "split_stats"],
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
            node(nodes.track_metadata, inputs="unique_tracks", outputs="track_metadata", name="track_metadata"),
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
