"""What training and inference share, below both: the torch device to run on, and a
network's track-level prediction (the mean over windows covering each clip), so that
:mod:`~msd_tagging.models.training` validates exactly as
:class:`~msd_tagging.models.tagger.Tagger` scores."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from msd_tagging.core.errors import ParameterError

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def choose_device(requested: str = "auto", parameter: str = "audio.train.device"):
    """The torch device for ``requested`` (``auto``: CUDA when available, else CPU).

    Raises:
        ParameterError: when CUDA is asked for and this torch cannot use it.
    """
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        why = "was built without CUDA" if torch.version.cuda is None else "sees no GPU"
        raise ParameterError(
            parameter,
            f"{requested!r} asked for, but this torch {torch.__version__} {why}.",
            fix=f"set {parameter}: auto (CUDA when available, else CPU) or cpu; for a GPU see docs/quickstart.md, 'GPU install'.",
        )
    return torch.device(requested)


def cut_window(x: np.ndarray, offset: int, length: int) -> np.ndarray:
    """``length`` frames of ``x`` [n_mels, T] from ``offset``, zero-padded when the clip is short."""
    piece = np.asarray(x[:, offset : offset + length], dtype=np.float32)
    if piece.shape[1] < length:
        piece = np.pad(piece, ((0, 0), (0, length - piece.shape[1])))
    return piece


def predict(
    model, features: Sequence[np.ndarray], chunk_frames: int, batch_size: int = 64, device=None, *, embed: bool = False
):
    """Track probabilities: the mean of chunk probabilities over chunks covering each clip
    (and, with ``embed``, the mean of the chunks' embeddings).

    Returns:
        float32 ``[shape=(len(features), n_tags)]``; with ``embed``, a pair with the
        embeddings ``[shape=(len(features), d)]``.
    """
    import torch

    device = device or next(model.parameters()).device
    pieces, owner = [], []
    for i, x in enumerate(features):
        n = x.shape[1]
        starts = list(range(0, max(n - chunk_frames, 0) + 1, chunk_frames))
        if n > chunk_frames and starts[-1] + chunk_frames < n:
            starts.append(n - chunk_frames)  # the tail, so the whole clip is covered
        pieces.extend((i, s) for s in starts)
        owner.extend([i] * len(starts))
    owner = np.asarray(owner, dtype=np.int64)
    out, vectors = None, None
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(pieces), batch_size):
            batch = np.stack([cut_window(features[i], s, chunk_frames) for i, s in pieces[start : start + batch_size]])
            logits, embedding = model(torch.from_numpy(batch).to(device))  # [batch, n_tags], [batch, d]
            if out is None:
                out = np.zeros((len(pieces), logits.shape[1]), dtype=np.float32)
                vectors = np.zeros((len(pieces), embedding.shape[1]), dtype=np.float32) if embed else None
            out[start : start + len(batch)] = torch.sigmoid(logits.float()).cpu().numpy()
            if embed:
                vectors[start : start + len(batch)] = embedding.float().cpu().numpy()
    if out is None:  # no clip: the output layer still says how many tags
        out = np.zeros((0, _n_outputs(model)), dtype=np.float32)
    probabilities = _mean_over_chunks(owner, out, len(features))
    if not embed:
        return probabilities
    return probabilities, _mean_over_chunks(owner, vectors if vectors is not None else out[:, :0], len(features))


def _mean_over_chunks(owner: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, rows.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, rows)
    counts = np.bincount(owner, minlength=n)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def _n_outputs(model) -> int:
    """Tags a network outputs, read off its last linear layer (no input needed)."""
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1].out_features
