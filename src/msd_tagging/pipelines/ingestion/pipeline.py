"""Wiring of ingestion: a source for the env's kind of raw data (:mod:`.sources`), then the
shared nodes that build the primary tables from what every source hands on.

The registry builds one ingestion per source, ``ingestion.<source>``; the env's
``ingestion.source`` picks which one a run uses (:mod:`msd_tagging.framework.session`).
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.ingestion import nodes
from msd_tagging.pipelines.ingestion.sources import discover


def sources() -> dict[str, Pipeline]:
    """Every ingestion, source then shared nodes, by source."""
    return {source: module.create_pipeline() + shared(module.ROLES) for source, module in discover().items()}


def create_pipeline(source: str = "msd", **kwargs) -> Pipeline:
    """Ingestion with the source module for ``source`` (``msd`` by default)."""
    found = discover()
    if source not in found:
        raise ValueError(f"no ingestion source {source!r}; the sources are {', '.join(found)}")
    return found[source].create_pipeline() + shared(found[source].ROLES)


def shared(roles: dict[str, str]) -> Pipeline:
    """The nodes every source feeds; ``roles`` names the source's tag rows, audio path index
    and vocabulary datasets."""
    tag_rows, audio_index, tag_list = roles["tag_rows"], roles["audio_index"], roles["tag_list"]
    return Pipeline(
        [
            node(
                nodes.list_tracks,
                inputs=["split_tracks", "plays_by_id", "track_metadata"],
                outputs="listed_tracks",
                name="list_tracks",
            ),
            node(
                nodes.resolve_audio,
                inputs=["listed_tracks", audio_index, "audio_listing", "params:ingestion"],
                outputs=["tracks", "audio_stats"],
                name="resolve_audio",
            ),
            node(
                nodes.build_id_maps,
                inputs=["split_tracks", "plays_by_id", "song_tracks", "tag_labels"],
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
                inputs=["tracks", tag_rows, tag_list, "params:ingestion"],
                outputs=["tag_labels", "crowd_labels", "tag_stats"],
                name="build_tag_labels",
            ),
            node(
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
            ),
        ],
        tags=["ingestion"],
    )
