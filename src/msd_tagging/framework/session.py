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


def for_source(name: str, source: str, available) -> str:
    """The registered pipeline ``name`` means for an env reading ``source``: ``hybrid`` ->
    ``hybrid.tables``; ``__default__`` -> ``hybrid.<source>``; any other name itself.

    Raises:
        ParameterError: when no ingestion source reads ``source``.
    """
    base = "hybrid" if name == "__default__" else name
    if base not in PER_SOURCE:
        return name
    variant = f"{base}.{source}"
    if variant not in available:
        sources = sorted(n.split(".", 1)[1] for n in available if n.startswith("hybrid."))
        raise ParameterError(
            "ingestion.source",
            f"{source!r} names no ingestion source; the sources read {', '.join(map(repr, sources))}.",
            fix="set ingestion.source to one of them, or add a source module in msd_tagging/pipelines/ingestion/sources/.",
        )
    return variant


class ProjectSession(KedroSession):
    """Kedro's session, running ``hybrid``, ``ingestion``, ``method`` and the default
    pipeline with the ingestion source of the env's ``ingestion.source``."""

    def run(self, pipeline_name: str | None = None, pipeline_names: list[str] | None = None, **kwargs: Any):
        from kedro.framework.project import pipelines

        names = pipeline_names or ([pipeline_name] if pipeline_name else ["__default__"])
        parameters = self.load_context().config_loader["parameters"]
        source = (parameters.get("ingestion") or {}).get("source", "msd")
        resolved = [for_source(name, source, pipelines.keys()) for name in names]
        return super().run(pipeline_names=resolved, **kwargs)
