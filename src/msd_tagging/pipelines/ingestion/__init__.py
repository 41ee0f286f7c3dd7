"""Ingestion: raw MSD files, or a catalogue's plain tables → primary tables."""

from msd_tagging.pipelines.ingestion.pipeline import SOURCES, create_pipeline

__all__ = ["SOURCES", "create_pipeline"]
