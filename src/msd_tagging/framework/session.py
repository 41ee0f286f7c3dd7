"""The project's Kedro session: a run of the method uses the env's ingestion source.

The pipeline registry is static (:mod:`msd_tagging.pipeline_registry`): it builds one
method per ingestion source, ``hybrid.msd`` and ``hybrid.tables`` (and ``ingestion.<source>``,
``method.<source>``). An env says which kind of raw data it reads in
``ingestion.source``; :class:`ProjectSession` (``settings.SESSION_CLASS``, so ``kedro run``,
``kedro jupyter`` and notebooks all use it) runs ``hybrid``, ``ingestion``, ``method`` and
the default pipeline as that source's variant. So ``kedro run --pipeline=hybrid --env
catalogue`` runs ``hybrid.tables``; no module state decides the pipelines.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.session import KedroSession

from msd_tagging.core.errors import ParameterError

# Pipelines built once per ingestion source, as "<name>.<source>".
PER_SOURCE = ("hybrid", "ingestion", "method")


def for_source(name: str, source: str, available, audio: str = "train") -> str:
    """The registered pipeline ``name`` means for an env reading ``source`` with the audio
    sub-pipeline ``audio``: ``hybrid`` -> ``hybrid.tables`` (or ``hybrid.tables.head``);
    ``__default__`` -> ``hybrid.<source>``; ``audio`` -> ``audio.<audio>``; any other name
    itself.

    Raises:
        ParameterError: when no ingestion source reads ``source``.
    """
    base = "hybrid" if name == "__default__" else name
    if base == "audio" and audio != "train":
        return f"audio.{audio}"
    if base not in PER_SOURCE:
        return name
    variant = f"{base}.{source}" + (f".{audio}" if base != "ingestion" and audio != "train" else "")
    if variant not in available:
        sources = sorted({n.split(".")[1] for n in available if n.startswith("hybrid.")})
        raise ParameterError(
            "ingestion.source",
            f"{source!r} names no ingestion source; the sources read {', '.join(map(repr, sources))}.",
            fix="set ingestion.source to one of them, or add a source module in msd_tagging/pipelines/ingestion/sources/.",
        )
    return variant


class ProjectSession(KedroSession):
    """Kedro's session, running ``hybrid``, ``ingestion``, ``method``, ``audio`` and the
    default pipeline with the ingestion source of the env's ``ingestion.source`` and the
    audio sub-pipeline of its ``audio.model_source``."""

    def run(self, pipeline_name: str | None = None, pipeline_names: list[str] | None = None, **kwargs: Any):
        from kedro.framework.project import pipelines

        names = pipeline_names or ([pipeline_name] if pipeline_name else ["__default__"])
        parameters = self.load_context().config_loader["parameters"]
        from msd_tagging.pipelines.audio.pipeline import variant_of

        source = (parameters.get("ingestion") or {}).get("source", "msd")
        audio = variant_of((parameters.get("audio") or {}).get("model_source", "train"))
        resolved = [for_source(name, source, pipelines.keys(), audio) for name in names]
        return super().run(pipeline_names=resolved, **kwargs)
