"""Listening side: BPR factorisation of the plays, MF-centroids, the hybrid, Table 1."""

from msd_tagging.pipelines.listening.pipeline import create_pipeline

__all__ = ["create_pipeline"]
