"""One digest for every provenance key: what a demo world, its rendered audio, a feature
store or a training checkpoint was made from.

A stored thing records the digest of its inputs; a later run compares it with the digest
of its own inputs and redoes the work when they differ (a redrawn world, other settings,
other training data). Every key is built the same way, so two keys of the same inputs are
equal across modules. A leaf module: no project import.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LENGTH = 16  # hex digits kept: 64 bits, ample to tell versions of one thing apart


def digest(*parts: Any) -> str:
    """A short, stable hash of ``parts``.

    Each part may be plain data (dicts, lists, numbers, text; dict order does not matter),
    a dataclass (by its fields), a numpy array (by dtype, shape and bytes), a pandas frame
    or series (by its CSV text), bytes, or a :class:`pathlib.Path` (by the file's bytes).
    """
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(_bytes(part))
        hasher.update(b"\x1f")  # parts stay apart: ("ab", "c") differs from ("a", "bc")
    return hasher.hexdigest()[:LENGTH]


def source_digest(*files: Path) -> str:
    """The digest of source files by name and content: a changed generator, a changed key."""
    return digest(*[(path.name, path.read_bytes()) for path in sorted(files)])


def _bytes(part: Any) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, Path):
        return part.read_bytes()
    if isinstance(part, np.ndarray):
        return f"{part.dtype}{part.shape}".encode() + np.ascontiguousarray(part).tobytes()
    if isinstance(part, pd.DataFrame | pd.Series):
        return part.to_csv(index=False).encode()
    if isinstance(part, tuple) and any(isinstance(p, bytes) for p in part):
        return b"\x1e".join(_bytes(p) for p in part)
    return json.dumps(_plain(part), sort_keys=True, default=str).encode()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
