"""Shapes of MSD identifiers and helpers shared by the readers."""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

from msd_tagging.core.errors import MSDDataError

# TRAADIN128F931D672, SOAKIMP12A8C130995: two letters and 16 upper-case alphanumerics.
TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
SONG_ID = re.compile(r"SO[A-Z0-9]{16}")
# Taste Profile users are SHA-1 hex digests.
USER_ID = re.compile(r"[0-9a-f]{40}")

TRACK_ID_PATTERN = TRACK_ID.pattern
SONG_ID_PATTERN = SONG_ID.pattern
USER_ID_PATTERN = USER_ID.pattern


def is_track_id(value: object) -> bool:
    return isinstance(value, str) and TRACK_ID.fullmatch(value) is not None


def is_song_id(value: object) -> bool:
    return isinstance(value, str) and SONG_ID.fullmatch(value) is not None


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and USER_ID.fullmatch(value) is not None


def check_track_id(value: object, *, path: str | PathLike | None = None, line: int | None = None) -> str:
    """Return ``value`` if it is a well-formed MSD track ID, else raise naming it."""
    if not is_track_id(value):
        raise MSDDataError(
            f"{value!r} is not an MSD track ID (expected 'TR' and 16 upper-case letters or digits, "
            "like TRAADIN128F931D672).",
            path=path,
            line=line,
            fix="check that the file is the right one and not corrupted.",
        )
    return value  # type: ignore[return-value]


def existing_file(path: str | PathLike, what: str) -> Path:
    """Return ``path`` as a Path if it is a readable regular file, else raise a clear error."""
    p = Path(path)
    if not p.exists():
        raise MSDDataError(
            f"{what} not found.",
            path=p,
            fix="point the base path in conf/<env>/globals.yml at the folder that holds it (see docs/msd.md).",
        )
    if not p.is_file():
        raise MSDDataError(f"{what} is not a regular file.", path=p)
    return p
