"""Beyond the paper: its further directions, learned fusion, cold start, playlists."""

from msd_tagging.pipelines.beyond.pipeline import create_pipeline

__all__ = ["create_pipeline"]
