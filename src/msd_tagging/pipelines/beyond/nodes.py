"""Nodes beyond the paper: more scorers, learned fusion, cold start, playlists, the
extended table."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.beyond import (
    fit_fusion_weights,
    fit_tag_classifier,
    fuse,
    nearest_to_centroids,
    popularity_bins,
)
from msd_tagging.errors import MSDDataError
from msd_tagging.evaluation import check_split, evaluate
from msd_tagging.listening import tag_centroids, warm_vectors
from msd_tagging.mapping import IdMaps
from msd_tagging.msd import tags_in_vocabulary
from msd_tagging.pipelines.listening.nodes import labels_for, mf_centroid_scores, training_side

logger = logging.getLogger(__name__)


def core_centroid_scores(
    track_vectors: pd.DataFrame,
    audio_scores: pd.DataFrame,
    tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    listening: dict,
    core: dict,
) -> pd.DataFrame:
    """MF-centroids from each tag's dense core: its ``top_n`` tracks less the
    ``drop_fraction`` farthest from their mean direction. Otherwise as MF-centroids."""
    return mf_centroid_scores(
        track_vectors, audio_scores, tracks, tag_labels, {**listening, "drop_fraction": core["drop_fraction"]}
    )


def mf_classifier_scores(
    track_vectors: pd.DataFrame, tracks: pd.DataFrame, tag_labels: pd.DataFrame, params: dict
) -> tuple[pd.DataFrame, dict]:
    """Per-tag logistic regression on MF vectors, trained on the training tracks' tags, its
    strength chosen on validation. Scores every warm split track; cold tracks get none.

    Returns:
        Scores (``track_id`` + tags) and a report of the choice.
    """
    tags = [c for c in tag_labels.columns if c != "track_id"]
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
        tuple(params["cs"]),
        seed=params["seed"],
    )
    logger.info(
        "MF classifier: C = %g chosen on validation (%s).",
        model.c,
        ", ".join(f"{c:g}: {q:.4f}" for c, q in model.validation.items()),
    )
    scores = pd.DataFrame(model.predict(vectors), columns=tags)
    scores.insert(0, "track_id", warm["track_id"].to_numpy())
    report = {
        "c": model.c,
        "validation_quality": {f"{c:g}": q for c, q in model.validation.items()},
        "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation",
    }
    return scores, report


def learned_fusion(
    audio_scores: pd.DataFrame,
    listening_scores: pd.DataFrame,
    tag_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    params: dict,
    per_tag: bool,
) -> tuple[pd.DataFrame, dict]:
    """Fit audio/listening weights on the validation split only, apply them to every track.

    Test labels never enter: only validation tracks' scores and labels are passed to the fit.
    """
    tags = [c for c in audio_scores.columns if c != "track_id"]
    valid_ids = tracks.loc[tracks["split"] == "valid", "track_id"]
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
        audio, listening, labels, per_tag=per_tag, grid_step=params["grid_step"], shrinkage=params["shrinkage"]
    )
    logger.info(
        "Fusion fitted on %d validation tracks: global listening weight %.2f%s.",
        len(both), w_global, f", per tag {weights.min():.2f}–{weights.max():.2f}" if per_tag else "",
    )  # fmt: skip
    report = {
        "fitted_on": "valid",
        "tracks": int(len(both)),
        "global_weight": w_global,
        "per_tag": per_tag,
        "weights": dict(zip(tags, map(float, weights), strict=True)),
    }
    return fuse(audio_scores, listening_scores, weights), report


# Extended Table 1: every scorer, in this order, with what it is.
SCORERS = {
    "audio": "VGG (audio)",
    "mf": "MF-centroids",
    "hybrid": "Hybrid: mean(VGG, MF-centroids) (paper)",
    "mf_core": "MF-centroids, dense core (outliers dropped)",
    "hybrid_core": "mean(VGG, MF-centroids core)",
    "mf_classifier": "MF tag classifier (logistic, trained on tags)",
    "hybrid_classifier": "mean(VGG, MF classifier)",
    "fusion_global": "VGG + MF-centroids, global weight (validation)",
    "fusion_by_tag": "VGG + MF-centroids, per-tag weights (validation)",
    "fusion_classifier": "VGG + MF classifier, per-tag weights (validation)",
}
PAPER_RELATIVE_GAIN = {"roc_auc": 0.8700 / 0.8672 - 1, "pr_auc": 0.2830 / 0.2774 - 1}


def global_fusion(audio_scores, listening_scores, tag_labels, tracks, params) -> tuple[pd.DataFrame, dict]:
    """:func:`learned_fusion` with one listening weight for every tag."""
    return learned_fusion(audio_scores, listening_scores, tag_labels, tracks, params, per_tag=False)


def per_tag_fusion(audio_scores, listening_scores, tag_labels, tracks, params) -> tuple[pd.DataFrame, dict]:
    """:func:`learned_fusion` with a listening weight per tag, shrunk toward the global one."""
    return learned_fusion(audio_scores, listening_scores, tag_labels, tracks, params, per_tag=True)


def extended_table(**metrics: dict) -> tuple[pd.DataFrame, str, dict]:
    """Table 1 with every scorer and its relative gain over VGG (audio).

    Args:
        metrics: ``{scorer}_metrics`` dicts, keyed by scorer (keys of :data:`SCORERS`).
    """
    audio = metrics["audio"]
    rows = []
    for key, method in SCORERS.items():
        if key not in metrics:
            continue
        m = metrics[key]
        rows.append(
            {
                "scorer": key,
                "method": method,
                "roc_auc": m["roc_auc_macro"],
                "pr_auc": m["pr_auc_macro"],
                "roc_auc_gain": m["roc_auc_macro"] / audio["roc_auc_macro"] - 1,
                "pr_auc_gain": m["pr_auc_macro"] / audio["pr_auc_macro"] - 1,
                "tracks_scored": m["n_tracks_scored"],
                "tags_scored": m["n_tags_scored"],
            }
        )
    table = pd.DataFrame(rows)
    fused = table[~table["scorer"].isin(["audio", "mf", "mf_core", "mf_classifier"])]
    best = fused.loc[(fused["roc_auc_gain"] + fused["pr_auc_gain"]).idxmax()]
    lines = [
        f"Extended Table 1 — macro ROC-AUC / PR-AUC on the {audio['split']} split, relative gain over VGG (audio).",
        "",
        "| scorer | method | ROC-AUC | PR-AUC | ROC-AUC gain | PR-AUC gain | tracks | tags |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r.scorer}` | {r.method} | {r.roc_auc:.4f} | {r.pr_auc:.4f} | {r.roc_auc_gain:+.1%} | {r.pr_auc_gain:+.1%} | {r.tracks_scored} | {r.tags_scored} |"
        for r in table.itertuples()
    ]
    ratio_roc = best["roc_auc_gain"] / PAPER_RELATIVE_GAIN["roc_auc"]
    ratio_pr = best["pr_auc_gain"] / PAPER_RELATIVE_GAIN["pr_auc"]
    lines += [
        "",
        f"Paper (MSD): hybrid gain over VGG {PAPER_RELATIVE_GAIN['roc_auc']:+.2%} ROC-AUC, {PAPER_RELATIVE_GAIN['pr_auc']:+.2%} PR-AUC.",
        f"Best fused scorer here: `{best['scorer']}`, {ratio_roc:.1f}× the paper's relative ROC-AUC gain and {ratio_pr:.1f}× its PR-AUC gain.",
        "Fusion weights and the classifier's strength are fitted on the validation split only; listening scorers score warm tracks only.",
    ]
    record = {
        "split": audio["split"],
        "rows": rows,
        "best_fused": best["scorer"],
        "gain_vs_paper": {"roc_auc": ratio_roc, "pr_auc": ratio_pr},
        "paper_relative_gain": PAPER_RELATIVE_GAIN,
    }
    return table, "\n".join(lines) + "\n", record


def cold_start_analysis(
    plays: pd.DataFrame,
    id_maps: IdMaps,
    tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: dict,
    **scores: pd.DataFrame,
):
    """Metrics of each scorer per popularity bin (play count, zero included) on the evaluation split.

    Returns:
        A long table (``bin, scorer, tracks, tracks_scored, tags_scored, roc_auc, pr_auc``) and
        a figure of macro ROC-AUC and PR-AUC by bin.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_split(params["split"], "beyond.cold_start.split")
    per_track = plays.groupby("track_idx")["play_count"].sum()
    counts = pd.Series(0, index=pd.Index(id_maps.ids("tracks").to_numpy(), name="track_id"), dtype="int64")
    counts.iloc[per_track.index.to_numpy()] = per_track.to_numpy()
    split_ids = tracks.loc[tracks["split"] == params["split"], "track_id"]
    popularity = counts.reindex(split_ids.to_numpy(), fill_value=0)
    bins = popularity_bins(popularity, params["popularity_edges"])
    rows = []
    for name in bins.cat.categories:
        ids = pd.Series(bins.index[bins == name])
        for scorer, frame in scores.items():
            row = {"bin": name, "scorer": scorer.removesuffix("_scores"), "tracks": len(ids)}
            scored = ids[ids.isin(frame["track_id"])]
            if scored.empty:
                rows.append({**row, "tracks_scored": 0, "tags_scored": 0, "roc_auc": np.nan, "pr_auc": np.nan})
                continue
            summary, _ = evaluate(frame, tag_labels, scored)
            rows.append(
                {
                    **row,
                    "tracks_scored": summary["n_tracks_scored"],
                    "tags_scored": summary["n_tags_scored"],
                    "roc_auc": summary["roc_auc_macro"],
                    "pr_auc": summary["pr_auc_macro"],
                }
            )
    table = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    order = list(bins.cat.categories)
    for scorer, group in table.groupby("scorer", sort=False):
        group = group.set_index("bin").reindex(order)
        for ax, metric in zip(axes, ("roc_auc", "pr_auc"), strict=True):
            ax.plot(order, group[metric], marker="o", label=scorer)
    sizes = table.drop_duplicates("bin").set_index("bin")["tracks"].reindex(order)
    for ax, metric in zip(axes, ("ROC-AUC", "PR-AUC"), strict=True):
        ax.set(
            xlabel="plays of the track (tracks in bin: " + ", ".join(f"{b}: {n}" for b, n in sizes.items()) + ")",
            ylabel=f"macro {metric}",
        )
        ax.xaxis.label.set_size(7)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Cold start: {params['split']} tracks by popularity")
    fig.tight_layout()
    return table, fig


def tag_playlists(
    track_vectors: pd.DataFrame,
    audio_scores: pd.DataFrame,
    tracks: pd.DataFrame,
    unique_tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    listening: dict,
    params: dict,
) -> pd.DataFrame:
    """For a few tags, the tracks nearest the tag's MF centroid: example playlists.

    Candidates are every warm track of the catalogue, in a split or not (tracks without
    audio included: listening alone places them). ``has_tag`` is the track's Last.fm label
    where the split has one, empty otherwise.
    """
    tags = [c for c in audio_scores.columns if c != "track_id"]
    chosen = tags_in_vocabulary(params["tags"], tags, "beyond.playlists.tags")
    warm, vectors = warm_vectors(track_vectors, use_bias=listening["use_bias"])  # the whole catalogue
    split = warm["track_id"].map(tracks.set_index("track_id")["split"])
    train, audio_train = training_side(warm, audio_scores, tracks)
    centroids = tag_centroids(vectors[train], audio_train, listening["top_n"], drop_fraction=listening["drop_fraction"])
    wanted = [tags.index(t) for t in chosen]
    rows, cosines = nearest_to_centroids(vectors, centroids[wanted], params["length"])
    meta = unique_tracks.drop_duplicates("track_id").set_index("track_id")[["artist", "title"]]
    labels = tag_labels.set_index("track_id")
    out = []
    for tag, picks, sims in zip(chosen, rows, cosines, strict=True):
        for rank, (row, sim) in enumerate(zip(picks, sims, strict=True), start=1):
            track_id = warm["track_id"].iloc[row]
            out.append(
                {
                    "tag": tag,
                    "rank": rank,
                    "track_id": track_id,
                    "artist": meta["artist"].get(track_id, ""),
                    "title": meta["title"].get(track_id, ""),
                    "score": float(sim),
                    "split": split.iloc[row] if isinstance(split.iloc[row], str) else "none",
                    "has_tag": labels[tag].get(track_id, pd.NA),
                }
            )
    playlists = pd.DataFrame(out)
    playlists["has_tag"] = playlists["has_tag"].astype("Int8")
    for tag, group in playlists.groupby("tag", sort=False):
        known = group["has_tag"].dropna()
        logger.info(
            "Playlist %s: %d tracks, %d of %d labelled ones carry the tag.",
            tag,
            len(group),
            int(known.sum()),
            len(known),
        )
    return playlists
