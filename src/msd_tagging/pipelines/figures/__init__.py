"""Figure 1 of the paper: t-SNE of the MF space with tracks coloured by tag."""

from msd_tagging.pipelines.figures.pipeline import create_pipeline

__all__ = ["create_pipeline"]
