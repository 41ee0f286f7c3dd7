"""Tables, the cold-start analysis, Figure 1 and tag playlists."""

from msd_tagging.pipelines.reporting.pipeline import create_pipeline, experiments_table

__all__ = ["create_pipeline", "experiments_table"]
