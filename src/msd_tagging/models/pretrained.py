"""The taggers this package ships pretrained on the real MSD, and the checks that keep a
model from scoring features it was not trained on.

``msd_vgg`` and ``msd_musicnn`` are musicnn's ``MSD_vgg`` and ``MSD_musicnn`` (Pons et al.
2018; Pons & Serra 2019), converted to torch by ``tools/convert_musicnn.py`` and stored in
``weights/`` (ISC licence, ``weights/NOTICE``). Every weight file describes itself: its
architecture and config, its tag names in output order, the preprocessing it expects and
where it came from. Models trained by the pipeline carry their tags and chunk length too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.files import safe_torch_load

WEIGHTS = Path(__file__).resolve().parent / "weights"
PRETRAINED = ("msd_musicnn", "msd_vgg")
# What each shipped name must hold: its architecture and musicnn's checkpoint it was converted from.
EXPECTED = {"msd_musicnn": ("musicnn", "MSD_musicnn"), "msd_vgg": ("musicnn_vgg", "MSD_vgg")}
CHECKSUMS = WEIGHTS / "SHA256SUMS"  # written by tools/convert_musicnn.py beside the files it converts
REINSTALL = "reinstall msd-tagging (pip install -e . in a clone, or pip install --force-reinstall msd_tagging)"
# The preprocessing settings a pretrained model fixes; the run's audio.mel must agree.
MEL_KEYS = ("sample_rate", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "log")


def pretrained_record(name: str) -> dict:
    """The weight file of a pretrained tagger, checked to describe itself.

    Raises:
        MSDDataError: for an unknown name, a missing file, or a file that lacks its tags,
            preprocessing or provenance.
    """
    if name not in PRETRAINED:
        raise MSDDataError(
            f"no pretrained tagger named {name!r}",
            fix=f"choose one of {', '.join(PRETRAINED)}, or 'trained' for the model this project trains",
        )
    path = WEIGHTS / f"{name}.pt"
    if not path.is_file():
        raise MSDDataError(
            "the pretrained weight file is missing from the installed package",
            path=path,
            fix=REINSTALL,
        )
    check_checksum(path)
    record = safe_torch_load(path, "the pretrained weight file", fix=REINSTALL)
    from msd_tagging.models.registry import read_record

    return check_identity(name, read_record(record, str(path)), path)


def check_identity(name: str, record: dict, path: Path) -> dict:
    """Stop when the weight file under ``name`` holds another model (two files swapped,
    checksum lines and all): its architecture and source must be ``name``'s."""
    architecture, checkpoint = EXPECTED[name]
    source = str((record.get("provenance") or {}).get("source", ""))
    if record["architecture"] != architecture or not source.endswith(f"checkpoint {checkpoint}"):
        raise MSDDataError(
            f"the weight file of {name} holds another model (architecture {record['architecture']!r}, "
            f"{source or 'no source'}), not {architecture!r} from musicnn's {checkpoint}: files were swapped.",
            path=path,
            fix=REINSTALL,
        )
    return record


def checksums() -> dict[str, str]:
    """The recorded SHA-256 of every shipped weight file, by file name."""
    if not CHECKSUMS.is_file():
        raise MSDDataError("the checksum list of the shipped weights is missing.", path=CHECKSUMS, fix=REINSTALL)
    sums = {}
    for line in CHECKSUMS.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest
    return sums


def check_checksum(path: Path) -> None:
    """Stop when a shipped weight file is not byte for byte the one converted: a partial
    checkout, a Git LFS pointer, or an edit (a reordered tag list relabels every output)."""
    import hashlib

    expected = checksums().get(path.name)
    if expected is None:
        raise MSDDataError("no checksum is recorded for this weight file.", path=path, fix=REINSTALL)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise MSDDataError(
            f"the weight file differs from the one shipped (SHA-256 {digest.hexdigest()[:16]}…, recorded "
            f"{expected[:16]}…): it is partial, a Git LFS pointer, or was changed; its outputs cannot be trusted.",
            path=path,
            fix=REINSTALL,
        )


def check_preprocessing(record: dict, mel: dict, where: str) -> None:
    """Stop when the run's log-mel settings differ from those the model was trained on.

    Args:
        record: a pretrained model's record.
        mel: the run's ``audio.mel`` settings (``MelConfig.as_dict()``).
        where: what is being run, for the message.
    """
    expected = record["preprocessing"]
    differ = [f"{k}: run {mel.get(k)!r}, model {expected[k]!r}" for k in MEL_KEYS if mel.get(k) != expected[k]]
    if differ:
        raise MSDDataError(
            f"{where}: the model was trained on other log-mel features ({'; '.join(differ)}); its scores "
            "would be garbage",
            fix="set audio.mel to the model's settings (conf/base has them), or use a model trained on yours",
        )


def check_tags(record: dict, tags: list[str], where: str) -> None:
    """Stop when the run's vocabulary has a tag the model does not output (the run may
    keep fewer: ingestion drops tags no training track has positive)."""
    ours, theirs = set(tags), set(record["tags"])
    if not ours <= theirs:
        raise MSDDataError(
            f"{where}: the run's {len(ours)} tags are not among the model's {len(theirs)}: the model lacks "
            f"{sorted(ours - theirs)[:10]}",
            fix="use the MSD's 50-tag vocabulary (ingestion.tag_list), or audio.model_source: train",
        )


def in_tag_order(record: dict, tags: list[str]) -> dict:
    """``record`` with its output layer's rows reordered to ``tags`` (a subset of its own)."""
    order = [list(record["tags"]).index(t) for t in tags]
    from msd_tagging.models.registry import architecture

    layer = architecture(record["architecture"]).output_layer
    state = dict(record["state_dict"])
    for part in ("weight", "bias"):
        state[f"{layer}.{part}"] = state[f"{layer}.{part}"][order]
    return {**record, "config": {**record["config"], "n_tags": len(tags)}, "state_dict": state, "tags": list(tags)}


def patches(features: np.ndarray, frames: int) -> np.ndarray:
    """musicnn's patches of one clip's log-mel ``[n_mels, n]``: ``[n_patches, frames, n_mels]``.

    Non-overlapping patches from the start; the trailing partial patch is dropped. A clip
    shorter than one patch is repeated until it fills one (musicnn-training's
    ``repeat-pad``).
    """
    x = features.T  # [n, n_mels]
    if len(x) < frames:
        x = np.tile(x, (-(-frames // max(len(x), 1)), 1))[:frames]
    n = len(x) // frames
    return np.ascontiguousarray(x[: n * frames].reshape(n, frames, x.shape[1]), dtype=np.float32)
