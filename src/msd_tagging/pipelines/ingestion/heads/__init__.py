"""Ingestion heads: one module per kind of raw data, each building the same tables.

A head module names its ``SOURCE`` (the value of ``ingestion.source`` that picks it) and
``ROLES`` (which of its datasets are the tag rows, the audio path index and the
vocabulary the shared ingestion nodes read), and returns its nodes as a pipeline
namespaced by its source, ending in ``split_tracks``, ``split_stats``, ``plays_by_id``,
``play_stats``, ``song_tracks``, ``song_stats`` and ``track_metadata``. Adding a kind of
raw data is a new module here and an env that sets ``ingestion.source`` (docs/extending.md,
"Adding an ingestion head").
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# What every head hands the shared ingestion nodes.
OUTPUTS = ("split_tracks", "split_stats", "plays_by_id", "play_stats", "song_tracks", "song_stats", "track_metadata")
ROLES = ("tag_rows", "audio_index", "tag_list")


def discover() -> dict[str, ModuleType]:
    """Every head module of this package, by its ``SOURCE``, in name order."""
    heads = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        missing = [name for name in ("SOURCE", "ROLES", "create_pipeline") if not hasattr(module, name)]
        if missing:
            raise ImportError(f"ingestion head {module.__name__} lacks {', '.join(missing)} (see {__name__})")
        if module.SOURCE in heads:
            raise ImportError(
                f"two ingestion heads for source {module.SOURCE!r}: {heads[module.SOURCE].__name__}, {module.__name__}"
            )
        heads[module.SOURCE] = module
    return heads
