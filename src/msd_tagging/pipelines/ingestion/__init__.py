"""Ingestion: raw data (the MSD's files, or a catalogue's plain tables) → primary tables."""

from msd_tagging.pipelines.ingestion.pipeline import create_pipeline, sources

__all__ = ["create_pipeline", "sources"]
