"""Nodes of the listening side: the factorisation of plays."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.figures import with_note
from msd_tagging.core.mapping import IdMaps
from msd_tagging.listening.factorisation import (
    factorise,
    factorise_early_stopped,
    play_matrix,
    withheld_tracks,
    without_plays_of,
)
from msd_tagging.params import FiguresParams, ListeningParams

logger = logging.getLogger(__name__)


def factorise_plays(
    plays: pd.DataFrame, id_maps: IdMaps, params: ListeningParams, tracks: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One vector per track of the ID map from the factoriser ``listening.model``; tracks
    without plays are cold (no vector), and so are the tracks ``listening.withhold`` draws
    from ``tracks`` (their plays are left out).

    With ``listening.early_stopping.enabled``, the number of iterations is chosen on held-out
    plays (:func:`factorise_early_stopped`) and the curve is returned; otherwise the curve
    is empty.

    Returns:
        ``track_id``, ``cold`` and ``f000 … f{d-1}``, plus ``bias`` when the factoriser has
        an item bias; and the early-stopping curve ``iteration, heldout_auc, seconds``.
    """
    factoriser, config, stopping = params.factoriser, params.factoriser_config, params.early_stopping
    if params.withhold.share:
        plays = _withhold(plays, id_maps, tracks, params)
    matrix = play_matrix(plays, id_maps.size("users"), id_maps.size("tracks"), params.weighting)
    logger.info(
        "%s on %d users × %d tracks, %d plays, %d factors.",
        params.model.upper(),
        *matrix.shape,
        matrix.nnz,
        config.factors,
    )
    if stopping.enabled:
        (vectors, bias), curve = factorise_early_stopped(matrix, factoriser, config, stopping)
    else:
        (vectors, bias), curve = factorise(matrix, factoriser, config), pd.DataFrame(columns=CURVE_COLUMNS)
    cold = np.asarray(matrix.getnnz(axis=0) == 0)
    table = pd.DataFrame(vectors, columns=[f"f{i:03d}" for i in range(config.factors)])
    if bias is not None:
        table["bias"] = bias
    table.loc[cold, :] = np.nan
    table.insert(0, "cold", cold)
    table.insert(0, "track_id", id_maps.ids("tracks").to_numpy())
    return table, curve


def _withhold(plays: pd.DataFrame, id_maps: IdMaps, tracks: pd.DataFrame | None, params: ListeningParams):
    if tracks is None:
        raise ValueError("listening.withhold needs the tracks table to draw from")
    withheld = withheld_tracks(tracks, params.withhold)
    positions = id_maps.ids("tracks").get_indexer(withheld)
    kept = without_plays_of(plays, positions[positions >= 0])
    logger.info(
        "listening.withhold: the plays of %d of the %s tracks (%d plays) are left out; those tracks are cold.",
        len(withheld),
        params.withhold.split,
        len(plays) - len(kept),
    )
    return kept


CURVE_COLUMNS = ["iteration", "heldout_auc", "seconds"]


def plot_factorisation_curve(curve: pd.DataFrame, params: ListeningParams, figures: FiguresParams):
    """Held-out AUC by iteration of the factoriser; when early stopping is off there is no
    curve, and the figure says so in its title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = params.model.upper()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(curve):
        ax.plot(curve["iteration"], curve["heldout_auc"], marker="o")
        best = curve.loc[curve["heldout_auc"].idxmax()]
        ax.axvline(
            best["iteration"], color="#999999", linestyle="--", label=f"kept: iteration {int(best['iteration'])}"
        )
        ax.legend()
        ax.set_title(f"{name}: held-out plays")
    else:
        ax.set_title(f"{name}: no held-out curve (listening.early_stopping.enabled is false)")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set(xlabel=f"{name} iterations", ylabel="held-out sampled AUC")
    fig.tight_layout()
    return with_note(fig, figures.note)


def predict_listening(
    audio_track_embeddings: pd.DataFrame, track_vectors: pd.DataFrame, tracks: pd.DataFrame, params: ListeningParams
) -> tuple[pd.DataFrame, dict]:
    """A listening vector predicted from audio alone for every track with audio, one per
    loss of ``listening.from_audio`` (:func:`msd_tagging.listening.from_audio.predict_listening`)."""
    from msd_tagging.listening.from_audio import predict_listening as predict

    return predict(audio_track_embeddings, track_vectors, tracks, params.from_audio)
