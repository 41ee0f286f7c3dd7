"""Ingestion source for a catalogue's plain tables: plays (or a listen log), tags and tracks
as CSV or Parquet, and a folder of audio (``ingestion.source: tables``, ``conf/catalogue``).
A catalogue's songs are its tracks; without a ``split`` column a seeded, artist-disjoint,
tag-stratified split is made."""

import logging

import pandas as pd
from kedro.pipeline import Pipeline, node

from msd_tagging.params import IngestionParams
from msd_tagging.pipelines.ingestion import nodes, tables

logger = logging.getLogger(__name__)

SOURCE = "tables"
ROLES = {"tag_rows": "catalogue_tag_rows", "audio_index": "catalogue_audio_paths", "tag_list": "tag_list"}
RAW = ("raw_data", "catalogue_tracks", "catalogue_plays", "catalogue_listens", "catalogue_tags", "audio_listing")


def track_rows_and_metadata(raw_data: dict, tracks_table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tracks table, typed and checked, and every track's artist and title; after
    ``draw_world`` (``raw_data``), which writes the example catalogue's tables."""
    rows = tables.read_catalogue_tracks(tracks_table)
    logger.info(
        "Catalogue tables: %s.",
        f"the example catalogue (fingerprint {raw_data.get('fingerprint')})"
        if raw_data.get("source") == "demo"
        else f"yours, under {raw_data.get('root', 'the tables paths')}",
    )
    return rows, nodes.track_metadata(rows)


def plays_by_track(
    plays_table: pd.DataFrame | None,
    listens_table: pd.DataFrame | None,
    track_rows: pd.DataFrame,
    params: IngestionParams,
) -> tuple[pd.DataFrame, dict, pd.DataFrame, dict]:
    """Plays per (user, track) from the plays table or the listen log
    (:func:`~msd_tagging.pipelines.ingestion.tables.read_catalogue_plays`), mapped to the
    tracks (:func:`~msd_tagging.pipelines.ingestion.tables.plays_by_track`)."""
    return tables.plays_by_track(tables.read_catalogue_plays(plays_table, listens_table, params), track_rows, params)


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
            track_rows_and_metadata,
            inputs=["raw_data", "catalogue_tracks"],
            outputs=["catalogue_track_rows", "track_metadata"],
            name="read_catalogue_tracks",
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
            plays_by_track,
            inputs=["catalogue_plays", "catalogue_listens", "catalogue_track_rows", "params:ingestion"],
            outputs=["plays_by_id", "play_stats", "song_tracks", "song_stats"],
            name="plays_by_track",
        ),
    ]
