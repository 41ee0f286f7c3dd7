"""Nodes of the listening side: the factorisation of plays."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.listening.factorisation import factorisation_config, factorise, play_matrix
from msd_tagging.mapping import IdMaps

logger = logging.getLogger(__name__)


def factorise_plays(plays: pd.DataFrame, id_maps: IdMaps, params: dict) -> pd.DataFrame:
    """One MF vector per track of the ID map; tracks without plays are cold (no vector).

    Returns:
        ``track_id``, ``cold`` and ``f000 … f{d-1}`` plus ``bias`` (implicit's item bias).
    """
    config = factorisation_config(params)
    matrix = play_matrix(plays, id_maps.size("users"), id_maps.size("tracks"), params["weighting"])
    logger.info("BPR on %d users × %d tracks, %d plays, %d factors.", *matrix.shape, matrix.nnz, config.factors)
    factors = factorise(matrix, config)
    cold = np.asarray(matrix.getnnz(axis=0) == 0)
    factors[cold] = np.nan
    columns = [f"f{i:03d}" for i in range(config.factors)] + ["bias"]
    vectors = pd.DataFrame(factors, columns=columns)
    vectors.insert(0, "cold", cold)
    vectors.insert(0, "track_id", id_maps.ids("tracks").to_numpy())
    return vectors
