"""Wiring of ingestion."""

from kedro.pipeline import Pipeline, node

from msd_tagging.listening.plays import build_plays, map_songs_to_tracks
from msd_tagging.pipelines.ingestion import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.build_tracks,
                inputs=["raw_world", "split_train", "split_test", "unique_tracks", "params:ingestion"],
                outputs=["split_tracks", "split_stats"],
                name="build_tracks",
            ),
            node(
                nodes.resolve_audio,
                inputs=["split_tracks", "audio_paths", "audio_listing", "params:ingestion"],
                outputs=["tracks", "audio_stats"],
                name="resolve_audio",
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
            node(
                nodes.build_id_maps,
                inputs=["split_tracks", "plays_by_id", "song_tracks", "tag_list"],
                outputs="id_maps",
                name="build_id_maps",
            ),
            node(
                nodes.index_plays,
                inputs=["plays_by_id", "id_maps"],
                outputs="plays",
                name="index_plays",
                tags=["method"],
            ),
            node(
                nodes.build_tag_labels,
                inputs=["split_tracks", "lastfm_tags", "tag_list", "params:ingestion"],
                outputs=["tag_labels", "tag_stats"],
                name="build_tag_labels",
            ),
            _report(),
        ],
        tags=["ingestion"],
    )


def _report():
    """One report of everything ingestion read, dropped and merged."""
    return node(
        nodes.ingestion_report,
        inputs=[
            "split_stats",
            "audio_stats",
            "song_stats",
            "play_stats",
            "tag_stats",
            "tracks",
            "plays_by_id",
            "params:ingestion",
        ],
        outputs="ingestion_report",
        name="ingestion_report",
    )
