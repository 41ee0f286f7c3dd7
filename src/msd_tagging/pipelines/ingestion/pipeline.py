"""Wiring of ingestion: a source-specific head, then the shared nodes.

``source="msd"`` reads the MSD's files (triplets, ``unique_tracks``, ``lastfm_tags.db``,
the Pons split); ``source="tables"`` reads a catalogue's plain tables (``conf/catalogue``).
Both heads end in the same datasets (``split_tracks``, ``plays_by_id``, ``song_tracks``,
the tag rows, ``tag_list``), from which the shared nodes build the primary tables.
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.listening.plays import build_plays, map_songs_to_tracks
from msd_tagging.pipelines.ingestion import nodes, tables

SOURCES = ("msd", "tables")


def create_pipeline(source: str = "msd", **kwargs) -> Pipeline:
    if source not in SOURCES:
        raise ValueError(f"unknown ingestion source {source!r}; expected one of {SOURCES}")
    head, tag_rows, audio_index = (_msd(), "lastfm_tags", "audio_paths") if source == "msd" else _tables()
    shared = [
        node(
            nodes.resolve_audio,
            inputs=["split_tracks", audio_index, "audio_listing", "params:ingestion"],
            outputs=["tracks", "audio_stats"],
            name="resolve_audio",
        ),
        node(
            nodes.build_id_maps,
            inputs=["split_tracks", "plays_by_id", "song_tracks", "tag_list"],
            outputs="id_maps",
            name="build_id_maps",
        ),
        node(
            nodes.index_plays, inputs=["plays_by_id", "id_maps"], outputs="plays", name="index_plays", tags=["method"]
        ),
        node(
            nodes.build_tag_labels,
            inputs=["split_tracks", tag_rows, "tag_list", "params:ingestion"],
            outputs=["tag_labels", "tag_stats"],
            name="build_tag_labels",
        ),
        _report(),
    ]
    return Pipeline([*head, *shared], tags=["ingestion"])


def _msd() -> list:
    return [
        node(
            nodes.build_tracks,
            inputs=["raw_world", "split_train", "split_test", "unique_tracks", "params:ingestion"],
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


def _tables() -> tuple[list, str, str]:
    head = [
        node(
            tables.read_catalogue_tracks,
            inputs=["raw_world", "catalogue_tracks"],
            outputs="catalogue_track_rows",
            name="read_catalogue_tracks",
        ),
        node(
            tables.read_catalogue_plays,
            inputs=["raw_world", "catalogue_plays", "catalogue_listens", "params:ingestion"],
            outputs="catalogue_play_rows",
            name="read_catalogue_plays",
        ),
        node(
            tables.read_catalogue_tags,
            inputs=["raw_world", "catalogue_tags", "catalogue_track_rows", "params:ingestion"],
            outputs="catalogue_tag_rows",
            name="read_catalogue_tags",
        ),
        node(
            tables.choose_vocabulary,
            inputs=["catalogue_tag_rows", "catalogue_track_rows", "params:ingestion"],
            outputs="tag_list",
            name="choose_vocabulary",
        ),
        node(
            tables.assign_split,
            inputs=[
                "catalogue_track_rows",
                "catalogue_tag_rows",
                "tag_list",
                "catalogue_audio_paths",
                "params:ingestion",
            ],
            outputs=["split_tracks", "split_stats"],
            name="assign_split",
        ),
        node(
            tables.catalogue_audio_paths,
            inputs=["catalogue_track_rows", "audio_listing"],
            outputs="catalogue_audio_paths",
            name="catalogue_audio_paths",
        ),
        node(
            tables.plays_by_track,
            inputs=["catalogue_play_rows", "catalogue_track_rows", "params:ingestion"],
            outputs=["plays_by_id", "play_stats", "song_tracks", "song_stats"],
            name="plays_by_track",
        ),
    ]
    head.append(
        node(nodes.track_metadata, inputs="catalogue_track_rows", outputs="track_metadata", name="track_metadata")
    )
    return head, "catalogue_tag_rows", "catalogue_audio_paths"


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
