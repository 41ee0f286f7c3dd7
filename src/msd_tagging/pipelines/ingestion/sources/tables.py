"""Ingestion source for a catalogue's plain tables: plays (or a listen log), tags and tracks
as CSV or Parquet, and a folder of audio (``ingestion.source: tables``, ``conf/catalogue``).
A catalogue's songs are its tracks; without a ``split`` column a seeded, artist-disjoint,
tag-stratified split is made."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.ingestion import nodes, tables

SOURCE = "tables"
ROLES = {"tag_rows": "catalogue_tag_rows", "audio_index": "catalogue_audio_paths", "tag_list": "tag_list"}
RAW = ("catalogue_tracks", "catalogue_plays", "catalogue_listens", "catalogue_tags", "audio_listing")


def create_pipeline(**kwargs) -> Pipeline:
    from msd_tagging.pipelines.ingestion.sources import OUTPUTS

    return Pipeline(
        Pipeline(_nodes()),
        namespace=SOURCE,
        inputs=set(RAW),
        outputs={*OUTPUTS, *ROLES.values()},
        parameters={"params:ingestion"},
        tags=["ingestion"],
    )


def _nodes() -> list:
    return [
        node(
            tables.read_catalogue_tracks,
            inputs="catalogue_tracks",
            outputs="catalogue_track_rows",
            name="read_catalogue_tracks",
        ),
        node(
            tables.read_catalogue_plays,
            inputs=["catalogue_plays", "catalogue_listens", "params:ingestion"],
            outputs="catalogue_play_rows",
            name="read_catalogue_plays",
        ),
        node(
            tables.read_catalogue_tags,
            inputs=["catalogue_tags", "catalogue_track_rows", "params:ingestion"],
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
            tables.catalogue_audio_paths,
            inputs=["catalogue_track_rows", "audio_listing"],
            outputs="catalogue_audio_paths",
            name="catalogue_audio_paths",
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
            tables.plays_by_track,
            inputs=["catalogue_play_rows", "catalogue_track_rows", "params:ingestion"],
            outputs=["plays_by_id", "play_stats", "song_tracks", "song_stats"],
            name="plays_by_track",
        ),
        node(nodes.track_metadata, inputs="catalogue_track_rows", outputs="track_metadata", name="track_metadata"),
    ]
