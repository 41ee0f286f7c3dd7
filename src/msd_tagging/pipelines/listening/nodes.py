"""Nodes of the listening side: the factorisation of plays."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.listening.factorisation import factorise, factorise_early_stopped, play_matrix
from msd_tagging.mapping import IdMaps
from msd_tagging.params import ListeningParams

logger = logging.getLogger(__name__)


def factorise_plays(plays: pd.DataFrame, id_maps: IdMaps, params: ListeningParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One MF vector per track of the ID map; tracks without plays are cold (no vector).

    With ``listening.early_stopping.enabled``, the number of iterations is chosen on held-out
    plays (:func:`factorise_early_stopped`) and the curve is returned; otherwise the curve
    is empty.

    Returns:
        ``track_id``, ``cold`` and ``f000 … f{d-1}`` plus ``bias`` (implicit's item bias);
        and the early-stopping curve ``iteration, heldout_auc, seconds``.
    """
    config, stopping = params.bpr, params.early_stopping
    matrix = play_matrix(plays, id_maps.size("users"), id_maps.size("tracks"), params.weighting)
    logger.info("BPR on %d users × %d tracks, %d plays, %d factors.", *matrix.shape, matrix.nnz, config.factors)
    if stopping.enabled:
        factors, curve = factorise_early_stopped(matrix, config, stopping)
    else:
        factors, curve = factorise(matrix, config), pd.DataFrame(columns=["iteration", "heldout_auc", "seconds"])
    cold = np.asarray(matrix.getnnz(axis=0) == 0)
    factors[cold] = np.nan
    columns = [f"f{i:03d}" for i in range(config.factors)] + ["bias"]
    vectors = pd.DataFrame(factors, columns=columns)
    vectors.insert(0, "cold", cold)
    vectors.insert(0, "track_id", id_maps.ids("tracks").to_numpy())
    return vectors, curve


def plot_bpr_curve(curve: pd.DataFrame):
    """Held-out AUC by BPR iteration (an empty frame when early stopping is off)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(curve):
        ax.plot(curve["iteration"], curve["heldout_auc"], marker="o")
        best = curve.loc[curve["heldout_auc"].idxmax()]
        ax.axvline(
            best["iteration"], color="#999999", linestyle="--", label=f"kept: iteration {int(best['iteration'])}"
        )
        ax.legend()
    else:
        ax.text(0.5, 0.5, "early stopping off (listening.early_stopping.enabled)", ha="center", va="center")
    ax.set(xlabel="BPR iterations", ylabel="held-out sampled AUC", title="BPR: held-out plays")
    fig.tight_layout()
    return fig
