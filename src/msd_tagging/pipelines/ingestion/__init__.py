"""Ingestion: raw MSD files → primary tables."""

from msd_tagging.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
