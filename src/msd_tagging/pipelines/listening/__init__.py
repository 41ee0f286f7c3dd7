"""Listening side: the factorisation of the plays into track vectors."""

from msd_tagging.pipelines.listening.pipeline import create_pipeline

__all__ = ["create_pipeline"]
