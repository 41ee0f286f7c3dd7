"""Split pickles of Pons et al. 2018 / Won et al. 2020: ``filtered_list_train.cP``
(training then validation IDs) and ``filtered_list_test.cP``."""

from __future__ import annotations

import io
import pickle
from os import PathLike

from msd_tagging.core.errors import MSDDataError
from msd_tagging.readers.ids import existing_file, is_track_id


class _CodeInPickle(pickle.UnpicklingError):
    """A pickle asked for a class or function."""


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds lists, dicts, strings and numbers and refuses everything else.

    The split files are Python-2 pickles of a list of str; nothing in them needs a class.
    A pickle that asks for one is not a split file and may be an attack: refuse it.
    """

    # Python 3 pickles bytes at protocols 0-2 as _codecs.encode(text, "latin1"): a pure
    # data transform, the one callable allowed.
    ALLOWED = {("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise _CodeInPickle(f"refusing to load {module}.{name}: data pickles hold no code")


def load_data_pickle(path: str | PathLike, what: str) -> object:
    """Load a pickle that may only hold plain data (lists, dicts, str, bytes, numbers)."""
    path = existing_file(path, what)
    payload = path.read_bytes()
    try:
        return _DataOnlyUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except _CodeInPickle as exc:
        raise MSDDataError(
            f"not a plain-data pickle: {exc}.",
            path=path,
            fix="use the published file; never load pickles of unknown origin.",
        ) from exc
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise MSDDataError(f"truncated or corrupt pickle ({type(exc).__name__}: {exc}).", path=path) from exc


def read_split_pickle(path: str | PathLike) -> list[str]:
    """Read a split file: a Python-2 pickle (protocol 0) of a list of MSD track IDs.

    Returns:
        The track IDs as str, in file order.

    Raises:
        MSDDataError: if the pickle is not a list of well-formed, distinct track IDs;
            the message names the file and the position of the first bad entry.
    """
    data = load_data_pickle(path, "split file")
    if not isinstance(data, list):
        raise MSDDataError(f"expected a pickled list of track IDs, found {type(data).__name__}.", path=path)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(data):
        value = item.decode("ascii", "replace") if isinstance(item, bytes) else item
        if not is_track_id(value):
            raise MSDDataError(
                f"entry {position} is {item!r}, not an MSD track ID.",
                path=path,
                fix="split files list MSD track IDs such as TRAADIN128F931D672.",
            )
        if value in seen:
            raise MSDDataError(f"track {value} is listed twice (entries {seen[value]} and {position}).", path=path)
        seen[value] = position
        ids.append(value)
    if not ids:
        raise MSDDataError("the split file lists no tracks.", path=path)
    return ids


def split_train_valid(train_list: list[str], n_train: int) -> tuple[list[str], list[str]]:
    """Cut the training pickle into training and validation IDs.

    In Pons et al.'s split the first 201,680 IDs are training and the remaining 11,774
    validation.
    """
    if not 0 < n_train < len(train_list):
        raise MSDDataError(
            f"cannot take {n_train} training tracks from a training list of {len(train_list)} and keep validation "
            "tracks (the rest of the list).",
            fix="set splits.n_train in conf/<env>/globals.yml to the number of training IDs "
            "(201680 for the published MSD split).",
        )
    return train_list[:n_train], train_list[n_train:]
