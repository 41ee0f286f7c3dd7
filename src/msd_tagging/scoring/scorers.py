"""Every scorer, declared once: what it is, the function that computes it, what it reads,
and the paper's figures where the paper has a row for it.

The scoring pipeline runs every declared function, the evaluation pipeline evaluates every
scorer, and Table 1, the extended table and the cold-start analysis are built from the
declaration. :data:`SCORERS` is the default run; :data:`EXPERIMENTS` are opt-in
(``kedro run --pipeline=experiments``). Adding a scorer is its function (score tables in, a
score table out) and one :class:`Scorer` entry (docs/extending.md, "Adding a scorer"); a
fusion is a listening source and a method (:func:`fusion`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.metrics import macro_quality
from msd_tagging.core.tracks import TrackTable
from msd_tagging.listening.centroids import centroid_scores, platt_calibrate, quantile_calibrate
from msd_tagging.listening.factorisation import warm_vectors
from msd_tagging.models.classifier import fit_tag_classifier
from msd_tagging.params import ListeningParams, ScoringParams
from msd_tagging.scoring.scores import fit_fusion_weights, fuse, score_table, tag_columns

logger = logging.getLogger(__name__)


# --- helpers shared by scorers --------------------------------------------------------


def labels_for(tag_labels: pd.DataFrame, ids: pd.Series, tags: list[str], what: str) -> np.ndarray:
    """0/1 labels ``[len(ids), len(tags)]`` of ``ids``; an error names a track without labels."""
    labels = tag_labels.set_index("track_id").reindex(ids)[tags]
    missing = labels.index[labels.isna().any(axis=1)]
    if len(missing):
        raise MSDDataError(
            f"{len(missing)} {what} tracks have no tag labels, e.g. {missing[0]}",
            fix="rebuild tag_labels and the scores from the same split (kedro run --pipeline=hybrid)",
        )
    return labels.to_numpy(dtype=np.int8)


def training_side(
    warm: pd.DataFrame, audio_scores: pd.DataFrame, tracks: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``warm`` are training tracks with audio scores, and those scores."""
    split = warm["track_id"].map(tracks.set_index("track_id")["split"])
    audio = audio_scores.set_index("track_id")
    train = ((split == "train") & warm["track_id"].isin(audio.index)).to_numpy()
    return train, audio.loc[warm["track_id"][train]].to_numpy()


# --- scorer functions -----------------------------------------------------------------


def mf_centroid_scores(
    track_vectors: pd.DataFrame,
    audio_scores: pd.DataFrame,
    tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: ListeningParams,
) -> pd.DataFrame:
    """MF-centroid tag probabilities of every catalogue track with a vector, in a split or
    not (cold tracks get none).

    The centroids come from the audio tagger's top training tracks (no labels). The
    cosines are then mapped to probabilities by ``params.calibration``: ``platt``
    fits a per-tag logistic map on the training tracks' cosines and tags, ``audio_quantiles``
    matches them to the audio tagger's training probabilities, ``cosine`` is ``(1 + cos) / 2``.
    Every mapping is increasing per tag, so the MF-centroids' own ranking metrics do not
    depend on it; the hybrid's do.
    """
    calibration = params.calibration
    tags = tag_columns(audio_scores)
    warm, vectors = warm_vectors(track_vectors, tracks["track_id"], use_bias=params.use_bias)
    train, audio_train = training_side(warm, audio_scores, tracks)
    train_ids = warm["track_id"][train]
    if params.top_n >= train.sum():
        logger.warning(
            "listening.top_n=%d is not below the %d warm training tracks with audio scores: every "
            "tag's centroid averages the same tracks, so MF-centroids cannot tell tags apart. "
            "Lower listening.top_n (the paper: 50 of 201,680).",
            params.top_n,
            int(train.sum()),
        )
    scores, _ = centroid_scores(
        vectors, np.flatnonzero(train), audio_train, params.top_n, drop_fraction=params.drop_fraction
    )
    if calibration == "platt":
        labels = labels_for(tag_labels, train_ids, tags, "training")
        scores, base_rate = platt_calibrate(scores, scores[train], labels, c=params.platt_c)
        if base_rate:
            logger.info(
                "MF-centroids: %d of %d tags get their training base rate (a constant) instead of a "
                "calibrated cosine: %s",
                len(base_rate),
                len(tags),
                ", ".join(f"{tags[t]} ({why})" for t, why in base_rate.items()),
            )
    elif calibration == "audio_quantiles":
        scores = quantile_calibrate(scores, scores[train], audio_train)
    out = score_table(warm["track_id"].to_numpy(), scores, tags)
    logger.info(
        "MF-centroids: %d warm tracks scored, centroids from the top %d of %d training tracks, %s calibration.",
        len(out),
        params.top_n,
        int(train.sum()),
        calibration,
    )
    return out


def mean_fusion(audio_scores: pd.DataFrame, listening_scores: pd.DataFrame) -> pd.DataFrame:
    """The paper's hybrid: the mean of audio and listening probabilities (:func:`fuse` with
    weight 0.5); a cold track keeps its audio score."""
    return fuse(audio_scores, listening_scores, 0.5)


def _fit_classifier(track_vectors, tracks, tag_labels, tags, scoring: ScoringParams):
    """The warm tracks, their vectors, and per-tag logistic regressions fitted on the
    training ones, their strength chosen on the validation ones."""
    warm, vectors = warm_vectors(track_vectors, tracks["track_id"])
    split = warm["track_id"].map(tracks.set_index("track_id")["split"])
    train, valid = (split == "train").to_numpy(), (split == "valid").to_numpy()
    if not train.any() or not valid.any():
        raise MSDDataError(
            "the MF classifier needs warm training and validation tracks; found none", fix="check the split files"
        )
    model = fit_tag_classifier(
        vectors[train],
        labels_for(tag_labels, warm["track_id"][train], tags, "training"),
        vectors[valid],
        labels_for(tag_labels, warm["track_id"][valid], tags, "validation"),
        scoring.classifier.cs,
        seed=scoring.classifier.seed,
    )
    return warm, vectors, model


def mf_classifier_scores(
    track_vectors: pd.DataFrame, tracks: pd.DataFrame, tag_labels: pd.DataFrame, scoring: ScoringParams
) -> tuple[pd.DataFrame, dict]:
    """Per-tag logistic regression on MF vectors, trained on the training tracks' tags, its
    strength chosen on validation. Scores every warm catalogue track; cold tracks get none.

    Returns:
        Scores (``track_id`` + tags) and a report of the choice.
    """
    tags = tag_columns(tag_labels)
    warm, vectors, model = _fit_classifier(track_vectors, tracks, tag_labels, tags, scoring)
    logger.info(
        "MF classifier: C = %g chosen on validation (%s).",
        model.c,
        ", ".join(f"{c:g}: {q:.4f}" for c, q in model.validation.items()),
    )
    scores = score_table(warm["track_id"].to_numpy(), model.predict(vectors), tags)
    report = {
        "c": model.c,
        "validation_quality": {f"{c:g}": q for c, q in model.validation.items()},
        "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation",
    }
    return scores, report


def mf_classifier_from_audio_scores(
    track_vectors: pd.DataFrame,
    predicted_vectors: pd.DataFrame,
    tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    scoring: ScoringParams,
) -> tuple[pd.DataFrame, dict]:
    """The MF classifier on listening predicted from audio: fitted as ``mf_classifier`` on
    the warm training tracks' vectors, it scores every track with audio from its predicted
    vector (:mod:`msd_tagging.listening.from_audio`), so a track nobody has played gets
    listening-informed tags. The loss whose predictions score the validation tracks best
    (macro (ROC-AUC + PR-AUC) / 2) is kept. A track's own plays never enter its score.

    Returns:
        Scores (``track_id`` + tags) and a report of the choices.
    """
    from msd_tagging.listening.from_audio import LOSS_COLUMN, predictions_for

    tags = tag_columns(tag_labels)
    model = _fit_classifier(track_vectors, tracks, tag_labels, tags, scoring)[2]
    valid_ids = TrackTable(tracks).ids("valid")
    quality, scored = {}, {}
    for loss in dict.fromkeys(predicted_vectors[LOSS_COLUMN]):
        predicted, matrix = warm_vectors(predictions_for(predicted_vectors, loss))
        scored[loss] = score_table(predicted["track_id"].to_numpy(), model.predict(matrix), tags)
        on_valid = predicted["track_id"].isin(valid_ids).to_numpy()
        ids = predicted["track_id"][on_valid]
        quality[loss] = macro_quality(
            labels_for(tag_labels, ids, tags, "validation"), scored[loss].to_numpy()[on_valid, 1:].astype(np.float64)
        )
    best = max(quality, key=quality.get)
    logger.info(
        "MF classifier on listening predicted from audio: the %s loss chosen on validation (%s).",
        best,
        ", ".join(f"{k}: {q:.4f}" for k, q in quality.items()),
    )
    report = {
        "c": model.c,
        "loss": best,
        "validation_quality_by_loss": quality,
        "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation tracks, from their predicted vectors",
    }
    return scored[best], report


def learned_fusion(
    audio_scores: pd.DataFrame,
    listening_scores: pd.DataFrame,
    tag_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    scoring: ScoringParams,
    per_tag: bool,
) -> tuple[pd.DataFrame, dict]:
    """Fit audio/listening weights on the validation split only, apply them to every track.

    Test labels never enter: only validation tracks' scores and labels are passed to the fit.
    """
    tags = tag_columns(audio_scores)
    valid_ids = TrackTable(tracks).ids("valid")
    both = audio_scores[
        audio_scores["track_id"].isin(valid_ids) & audio_scores["track_id"].isin(listening_scores["track_id"])
    ]["track_id"]
    if both.empty:
        raise MSDDataError(
            "no validation track has both audio and listening scores to fit fusion weights on",
            fix="check the split files",
        )
    audio = audio_scores.set_index("track_id").loc[both, tags].to_numpy()
    listening = listening_scores.set_index("track_id").loc[both, tags].to_numpy()
    labels = labels_for(tag_labels, both, tags, "validation")
    w_global, weights = fit_fusion_weights(
        audio,
        listening,
        labels,
        per_tag=per_tag,
        grid_step=scoring.fusion.grid_step,
        shrinkage=scoring.fusion.shrinkage,
    )
    logger.info(
        "Fusion fitted on %d validation tracks: global listening weight %.2f%s.",
        len(both),
        w_global,
        f", per tag {weights.min():.2f}–{weights.max():.2f}" if per_tag else "",
    )
    report = {
        "fitted_on": "valid",
        "tracks": int(len(both)),
        "global_weight": w_global,
        "per_tag": per_tag,
        "weights": dict(zip(tags, map(float, weights), strict=True)),
    }
    return fuse(audio_scores, listening_scores, weights), report


def per_tag_fusion(
    audio_scores: pd.DataFrame,
    listening_scores: pd.DataFrame,
    tag_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    scoring: ScoringParams,
) -> tuple[pd.DataFrame, dict]:
    """:func:`learned_fusion` with a listening weight per tag, shrunk toward the global one."""
    return learned_fusion(audio_scores, listening_scores, tag_labels, tracks, scoring, per_tag=True)


# --- the declaration ------------------------------------------------------------------


@dataclass(frozen=True)
class Paper:
    """A row of Ferraro et al. 2019's Table 1 (MSD test split, macro)."""

    method: str
    roc_auc: float
    pr_auc: float


@dataclass(frozen=True)
class Scorer:
    """One scorer. Its scores are the dataset ``{name}_scores``, its metrics ``{name}_metrics``.

    Attributes:
        name: the scorer's key, and the prefix of its datasets.
        label: what it is, for the extended table.
        function: computes the scores from ``inputs``; ``None`` when another stage makes
            them (the audio tagger's ``audio_scores``).
        inputs: the function's datasets and parameters, in its argument order.
        extra_outputs: datasets the function returns after the scores (weights, reports).
        paper: the paper's figures, for Table 1 (scorers without them are not in it).
        kind: ``audio``, ``listening`` or ``fused`` (audio and listening combined); the
            extended table names the best fused scorer.
        cold_start: whether the cold-start analysis shows it.
        method: whether it belongs to the paper's method figure (the ``method`` view).
    """

    name: str
    label: str
    function: Callable | None = None
    inputs: tuple[str, ...] = ()
    extra_outputs: tuple[str, ...] = ()
    paper: Paper | None = None
    kind: str = "fused"
    cold_start: bool = False
    method: bool = False

    @property
    def outputs(self) -> list[str]:
        return [f"{self.name}_scores", *self.extra_outputs]


_CENTROIDS = ("track_vectors", "audio_scores", "tracks", "tag_labels", "params:listening")
_FUSION = ("tag_labels", "tracks", "params:scoring")
# How the audio tagger's probabilities and a listening source's are fused: the paper's plain
# mean, or a listening weight per tag fitted on validation (shrunk toward one global weight).
FUSION_METHODS = {"mean": mean_fusion, "per_tag": per_tag_fusion}


def fusion(name: str, label: str, source: str, rule: str, **kwargs) -> Scorer:
    """The scorer fusing the audio tagger with the listening ``source`` (a scorer's name) by
    ``rule`` (:data:`FUSION_METHODS`): the fusions are declared as sources × rules."""
    inputs = ("audio_scores", f"{source}_scores") + (_FUSION if rule == "per_tag" else ())
    extra = (f"fusion_{name.removeprefix('fusion_')}_weights",) if rule == "per_tag" else ()
    return Scorer(name, label, FUSION_METHODS[rule], inputs, extra, **kwargs)


# The default run: the paper's rows, the MF classifier, the learned fusion, and listening
# predicted from audio for tracks nobody played; every one earns its place on validation
# (docs/results.md). Each is a candidate of the tagged catalogue for its evidence class.
SCORERS: tuple[Scorer, ...] = (
    Scorer("audio", "Audio tagger", paper=Paper("VGG (audio)", 0.8672, 0.2774), kind="audio", cold_start=True, method=True),
    Scorer(
        "mf", "MF-centroids", mf_centroid_scores, _CENTROIDS,
        paper=Paper("MF-centroids", 0.5879, 0.0953), kind="listening", cold_start=True, method=True,
    ),
    fusion("hybrid", "Hybrid: mean(audio, MF-centroids) (paper)", "mf", "mean",
           paper=Paper("Hybrid", 0.8700, 0.2830), cold_start=True, method=True),
    Scorer(
        "mf_classifier", "MF tag classifier (logistic, trained on tags)", mf_classifier_scores,
        ("track_vectors", "tracks", "tag_labels", "params:scoring"), ("mf_classifier_report",),
        kind="listening", cold_start=True,
    ),
    fusion("fusion_classifier", "audio + MF classifier, per-tag weights (validation)", "mf_classifier", "per_tag",
           cold_start=True),
    # Listening predicted from audio (listening.from_audio): every track with audio, played or not.
    Scorer(
        "mf_classifier_from_audio", "MF classifier on listening predicted from audio",
        mf_classifier_from_audio_scores, ("track_vectors", "predicted_vectors", "tracks", "tag_labels", "params:scoring"),
        ("mf_classifier_from_audio_report",), kind="audio", cold_start=True,
    ),
    fusion("fusion_from_audio", "audio + MF classifier on predicted listening, per-tag weights (validation)",
           "mf_classifier_from_audio", "per_tag", kind="audio", cold_start=True),
)  # fmt: skip

# Opt-in (kedro run --pipeline=experiments, after a hybrid run): the other sources × methods,
# to see that they add nothing the default lacks. Dropped for good, because the project's
# results showed no gain over the simpler scorer (docs/results.md, "What the default run
# keeps"): dense-core centroids (mf_core, hybrid_core) and one global fusion weight
# (fusion_global).
EXPERIMENTS: tuple[Scorer, ...] = (
    fusion("hybrid_classifier", "mean(audio, MF classifier)", "mf_classifier", "mean"),
    fusion("fusion_by_tag", "audio + MF-centroids, per-tag weights (validation)", "mf", "per_tag"),
)


def paper_relative_gain(scorers: tuple[Scorer, ...] = SCORERS) -> dict[str, float]:
    """The paper's hybrid's relative gain over its VGG on MSD."""
    audio, hybrid_row = (next(s.paper for s in scorers if s.name == n) for n in ("audio", "hybrid"))
    return {"roc_auc": hybrid_row.roc_auc / audio.roc_auc - 1, "pr_auc": hybrid_row.pr_auc / audio.pr_auc - 1}
