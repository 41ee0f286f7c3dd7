"""Wiring beyond the paper: more scorers, each evaluated like Table 1's, and the extended table."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.beyond import nodes
from msd_tagging.pipelines.evaluation import create_pipeline as evaluation
from msd_tagging.pipelines.listening.nodes import combine_scores

# Scorers this pipeline adds (Table 1's audio, mf and hybrid come from the listening side).
NEW_SCORERS = (
    "mf_core",
    "hybrid_core",
    "mf_classifier",
    "hybrid_classifier",
    "fusion_global",
    "fusion_by_tag",
    "fusion_classifier",
)
COLD_START_SCORERS = ("audio", "mf", "hybrid", "mf_classifier", "fusion_classifier")


def create_pipeline(**kwargs) -> Pipeline:
    scorers = Pipeline(
        [
            node(
                nodes.core_centroid_scores,
                inputs=[
                    "track_vectors",
                    "audio_scores",
                    "tracks",
                    "tag_labels",
                    "params:listening",
                    "params:beyond.core",
                ],
                outputs="mf_core_scores",
                name="mf_core_centroids",
            ),
            node(
                combine_scores,
                inputs=["audio_scores", "mf_core_scores"],
                outputs="hybrid_core_scores",
                name="hybrid_core",
            ),
            node(
                nodes.mf_classifier_scores,
                inputs=["track_vectors", "tracks", "tag_labels", "params:beyond.classifier"],
                outputs=["mf_classifier_scores", "mf_classifier_report"],
                name="mf_classifier",
            ),
            node(
                combine_scores,
                inputs=["audio_scores", "mf_classifier_scores"],
                outputs="hybrid_classifier_scores",
                name="hybrid_classifier",
            ),
            node(
                nodes.global_fusion,
                inputs=["audio_scores", "mf_scores", "tag_labels", "tracks", "params:beyond.fusion"],
                outputs=["fusion_global_scores", "fusion_global_weights"],
                name="fusion_global",
            ),
            node(
                nodes.per_tag_fusion,
                inputs=["audio_scores", "mf_scores", "tag_labels", "tracks", "params:beyond.fusion"],
                outputs=["fusion_by_tag_scores", "fusion_by_tag_weights"],
                name="fusion_by_tag",
            ),
            node(
                nodes.per_tag_fusion,
                inputs=["audio_scores", "mf_classifier_scores", "tag_labels", "tracks", "params:beyond.fusion"],
                outputs=["fusion_classifier_scores", "fusion_classifier_weights"],
                name="fusion_classifier",
            ),
        ],
        tags=["beyond"],
    )
    evaluations = sum((evaluation(s) for s in NEW_SCORERS), Pipeline([]))
    reports = Pipeline(
        [
            node(
                nodes.extended_table,
                inputs={s: f"{s}_metrics" for s in ("audio", "mf", "hybrid", *NEW_SCORERS)},
                outputs=["extended_table", "extended_table_markdown", "extended_table_json"],
                name="extended_table",
            ),
            node(
                nodes.cold_start_analysis,
                inputs={
                    "plays": "plays",
                    "id_maps": "id_maps",
                    "tracks": "tracks",
                    "tag_labels": "tag_labels",
                    "params": "params:beyond.cold_start",
                    **{f"{s}_scores": f"{s}_scores" for s in COLD_START_SCORERS},
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
                    "unique_tracks",
                    "tag_labels",
                    "params:listening",
                    "params:beyond.playlists",
                ],
                outputs="tag_playlists",
                name="tag_playlists",
            ),
        ],
        tags=["beyond", "reporting"],
    )
    return scorers + evaluations + reports
