"""Ingestion sources: one module per kind of raw data, each building the same tables.

A source module names its ``SOURCE`` (the value of ``ingestion.source`` that picks it) and
``ROLES`` (which of its datasets are the tag rows, the audio path index and the
vocabulary the shared ingestion nodes read), and returns its nodes as a pipeline
namespaced by its source, ending in ``split_tracks``, ``split_stats``, ``plays_by_id``,
``play_stats``, ``song_tracks``, ``song_stats`` and ``track_metadata``. Adding a kind of
raw data is a new module here and an env that sets ``ingestion.source`` (docs/extending.md,
"Adding an ingestion source").
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# What every source hands the shared ingestion nodes.
OUTPUTS = ("split_tracks", "split_stats", "plays_by_id", "play_stats", "song_tracks", "song_stats", "track_metadata")
ROLES = ("tag_rows", "audio_index", "tag_list")


def discover() -> dict[str, ModuleType]:
    """Every source module of this package, by its ``SOURCE``, in name order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        missing = [name for name in ("SOURCE", "ROLES", "create_pipeline") if not hasattr(module, name)]
        if missing:
            raise ImportError(f"ingestion source {module.__name__} lacks {', '.join(missing)} (see {__name__})")
        if module.SOURCE in found:
            raise ImportError(
                f"two ingestion modules for source {module.SOURCE!r}: {found[module.SOURCE].__name__}, {module.__name__}"
            )
        found[module.SOURCE] = module
    return found
