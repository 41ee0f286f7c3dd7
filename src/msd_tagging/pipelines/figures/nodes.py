"""Figure 1: where tags sit in the listening (MF) space, drawn and measured."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.listening import warm_vectors
from msd_tagging.msd import tags_in_vocabulary

logger = logging.getLogger(__name__)


def _warm_split_vectors(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Warm split tracks and their unit-length MF vectors."""
    warm, vectors = warm_vectors(track_vectors, tag_labels["track_id"])
    return warm, vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def tsne_embedding(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame, params: dict) -> pd.DataFrame:
    """2-D openTSNE embedding (cosine metric) of the split tracks' MF vectors; a seeded
    sample of ``sample_size`` tracks when there are more."""
    from openTSNE import TSNE

    warm, unit = _warm_split_vectors(track_vectors, tag_labels)
    rng = np.random.default_rng(params["seed"])
    rows = (
        np.sort(rng.choice(len(warm), size=params["sample_size"], replace=False))
        if len(warm) > params["sample_size"]
        else np.arange(len(warm))
    )
    from tqdm.auto import tqdm

    every = 25

    def tick(iteration, error, embedding) -> bool:
        bar.update(every)
        return False  # never stop early

    tsne = TSNE(
        perplexity=params["perplexity"], metric="cosine", n_jobs=params["n_jobs"] or -1, random_state=params["seed"],
        verbose=False, callbacks=tick, callbacks_every_iters=every,
    )  # fmt: skip
    bar = tqdm(total=tsne.early_exaggeration_iter + tsne.n_iter, desc="t-SNE", unit="iter", disable=None)
    xy = np.asarray(tsne.fit(unit[rows]))
    bar.close()
    logger.info("t-SNE of %d of %d warm split tracks.", len(rows), len(warm))
    return pd.DataFrame({"track_id": warm["track_id"].to_numpy()[rows], "x": xy[:, 0], "y": xy[:, 1]})


def _scatter(axis, embedding: pd.DataFrame, has_tag: np.ndarray, tag: str) -> None:
    axis.scatter(embedding["x"][~has_tag], embedding["y"][~has_tag], s=3, c="#c8c8c8", linewidths=0)
    axis.scatter(embedding["x"][has_tag], embedding["y"][has_tag], s=6, c="#d62728", linewidths=0)
    axis.set_title(f"{tag} ({int(has_tag.sum())} tracks)")
    axis.set_xticks([])
    axis.set_yticks([])


def tsne_figures(embedding: pd.DataFrame, tag_labels: pd.DataFrame, params: dict):
    """The highlighted-tag scatter and the grid of several tags."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = tag_labels.set_index("track_id").loc[embedding["track_id"]]
    vocabulary = list(labels.columns)
    highlight = (tags_in_vocabulary([params["highlight_tag"]], vocabulary, "figures.highlight_tag") or vocabulary[:1])[
        0
    ]
    single, axis = plt.subplots(figsize=(6, 6))
    _scatter(axis, embedding, labels[highlight].to_numpy() == 1, highlight)
    axis.set_title(f"MF space (t-SNE): tracks tagged {highlight} in red")
    single.tight_layout()
    tags = tags_in_vocabulary(params["grid_tags"], vocabulary, "figures.grid_tags") or vocabulary[:1]
    columns = 3
    grid, axes = plt.subplots(
        max(1, (len(tags) + columns - 1) // columns),
        columns,
        figsize=(4 * columns, 4 * ((len(tags) + columns - 1) // columns)),
    )
    for axis, tag in zip(np.ravel(axes), tags, strict=False):
        _scatter(axis, embedding, labels[tag].to_numpy() == 1, tag)
    for axis in np.ravel(axes)[len(tags) :]:
        axis.axis("off")
    grid.tight_layout()
    return single, grid


def tag_agreement(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame, params: dict) -> dict:
    """What the picture claims, measured: for each plotted tag, the share of a tagged
    track's k nearest neighbours in MF space (cosine) that carry the tag too, against
    the same share with the tag's labels shuffled across tracks (seeded)."""
    warm, unit = _warm_split_vectors(track_vectors, tag_labels)
    labels = tag_labels.set_index("track_id").loc[warm["track_id"]]
    k = params["k"]
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argpartition(-similarity, k, axis=1)[:, :k]
    rng = np.random.default_rng(params["seed"])
    out = {}
    vocabulary = [c for c in tag_labels.columns if c != "track_id"]
    for tag in tags_in_vocabulary([params["highlight_tag"], *params["grid_tags"]], vocabulary, "figures.grid_tags"):
        has = labels[tag].to_numpy() == 1
        if has.sum() < 2:
            out[tag] = {"tracks": int(has.sum()), "agreement": None, "shuffled": None}
            continue
        shuffled = rng.permutation(has)
        agreement = float(has[neighbours[has]].mean())
        baseline = float(shuffled[neighbours[shuffled]].mean())
        out[tag] = {
            "tracks": int(has.sum()),
            "agreement": agreement,
            "shuffled": baseline,
            "ratio": agreement / baseline if baseline else None,
        }
    return {"k": k, "tracks": int(len(warm)), "tags": out}
