"""Wiring of the reports: what is built from every scorer comes from the declaration."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.reporting import nodes
from msd_tagging.scoring.scorers import SCORERS, Scorer


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, **kwargs) -> Pipeline:
    return Pipeline([_tables(scorers), _figure_1()], tags=["reporting"])


def experiments_table(scorers: tuple[Scorer, ...], experiments: tuple[Scorer, ...]) -> Pipeline:
    """The extended table with the opt-in scorers beside the default ones (a hybrid run's
    metrics and tagging selection, read from its outputs)."""
    _, table = nodes.tables_for((*scorers, *experiments))
    return Pipeline(
        [
            node(
                table,
                inputs={
                    "tagging_selection": "tagging_selection",
                    **{s.name: f"{s.name}_metrics" for s in (*scorers, *experiments)},
                },
                outputs=["experiments_table", "experiments_table_markdown", "experiments_table_json"],
                name="experiments_table",
            )
        ],
        tags=["reporting"],
    )


def _tables(scorers: tuple[Scorer, ...]) -> Pipeline:
    table_1, extended_table = nodes.tables_for(scorers)
    return Pipeline(
        [
            node(
                table_1,
                inputs={s.name: f"{s.name}_metrics" for s in scorers if s.paper is not None},
                outputs=["table_1", "table_1_markdown", "table_1_json"],
                name="table_1",
                tags=["method"],
            ),
            node(
                extended_table,
                inputs={"tagging_selection": "tagging_selection", **{s.name: f"{s.name}_metrics" for s in scorers}},
                outputs=["extended_table", "extended_table_markdown", "extended_table_json"],
                name="extended_table",
            ),
            node(
                nodes.cold_start,
                inputs={
                    "reporting": "params:reporting",
                    "figures": "params:figures",
                    **{f"{s.name}_metrics": f"{s.name}_metrics" for s in scorers if s.cold_start},
                },
                outputs=["cold_start_metrics", "cold_start_figure"],
                name="cold_start",
            ),
            node(
                nodes.tag_playlists,
                inputs=[
                    "track_vectors",
                    "audio_scores",
                    "tracks",
                    "track_metadata",
                    "tag_labels",
                    "params:listening",
                    "params:reporting",
                ],
                outputs="tag_playlists",
                name="tag_playlists",
            ),
        ]
    )


def _figure_1() -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.tsne_embedding,
                inputs=["track_vectors", "tag_labels", "params:figures"],
                outputs="tsne_embedding",
                name="tsne_embedding",
            ),
            node(
                nodes.tsne_figures,
                inputs=["tsne_embedding", "tag_labels", "params:figures"],
                outputs=["figure_1", "figure_1_grid"],
                name="tsne_figures",
            ),
            node(
                nodes.tag_agreement,
                inputs=["track_vectors", "tag_labels", "params:figures"],
                outputs="figure_1_agreement",
                name="tag_agreement",
            ),
        ],
        tags=["figures"],
    )
