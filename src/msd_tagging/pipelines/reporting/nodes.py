"""Reporting: Table 1 and the extended table (built from the scorer declaration), the
cold-start analysis, Figure 1 (t-SNE of the MF space and tag agreement), tag playlists."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.figures import with_note
from msd_tagging.core.metrics import bootstrap_weights, interval
from msd_tagging.listening.centroids import nearest_neighbours, nearest_to_centroids, tag_centroids, unit
from msd_tagging.listening.factorisation import warm_vectors
from msd_tagging.params import FiguresParams, ListeningParams, ReportingParams
from msd_tagging.readers import tags_in_vocabulary
from msd_tagging.scoring.scorers import Scorer, paper_relative_gain, training_side
from msd_tagging.scoring.scores import tag_columns

logger = logging.getLogger(__name__)


# --- Table 1 and the extended table ---------------------------------------------------


def _metric_rows(metrics: dict[str, dict], scorers) -> list[dict]:
    """One row per scorer, in declaration order: its macro scores with their bootstrap
    intervals (when the metrics carry them) and what was scored."""
    rows = []
    for s in scorers:
        if s.name not in metrics:
            continue
        m = metrics[s.name]
        shown = m.get("interval") or {}
        rows.append(
            {
                "scorer": s.name,
                "roc_auc": m["roc_auc_macro"],
                "roc_auc_low": (shown.get("roc_auc") or [None, None])[0],
                "roc_auc_high": (shown.get("roc_auc") or [None, None])[1],
                "pr_auc": m["pr_auc_macro"],
                "pr_auc_low": (shown.get("pr_auc") or [None, None])[0],
                "pr_auc_high": (shown.get("pr_auc") or [None, None])[1],
                "tracks_scored": m["n_tracks_scored"],
                "tags_scored": m["n_tags_scored"],
            }
        )
    return rows


def _with_interval(value: float, low, high, fmt: str = "{:.4f}") -> str:
    """``0.7871 [0.7650, 0.8080]``, or the value alone without an interval."""
    if low is None or high is None or not np.isfinite(low):
        return fmt.format(value)
    return f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"


INTERVAL_NOTE = (
    "Brackets: the 95 % interval of a paired bootstrap over the split's tracks (the same {samples} resamples "
    "for every scorer, evaluation.bootstrap; percentiles centred on the estimate by their median). An interval says how far the figure could move with another draw "
    "of tracks like these; a gain whose interval excludes zero is unlikely to be luck on these tracks."
)


def tables_for(scorers: tuple[Scorer, ...]):
    """The ``table_1`` and ``extended_table`` nodes for the scorer declaration ``scorers``
    (each takes ``{scorer}_metrics`` dicts as keyword arguments)."""

    def table_1(**metrics: dict) -> tuple[pd.DataFrame, str, dict]:
        """Table 1 of the paper: the scorers the paper reports, beside its MSD figures."""
        return build_table_1(metrics, scorers)

    def extended_table(tagging_selection: dict, **metrics: dict) -> tuple[pd.DataFrame, str, dict]:
        """Table 1 with every declared scorer and its relative gain over VGG (audio); the
        headline fused scorer is the one the tagged catalogue chose on validation."""
        return build_extended_table(metrics, scorers, tagging_selection)

    return table_1, extended_table


def build_table_1(metrics: dict[str, dict], scorers: tuple[Scorer, ...]) -> tuple[pd.DataFrame, str, dict]:
    """Table 1 of the paper: the scorers the paper reports, beside its MSD figures, with
    95 % bootstrap intervals.

    Args:
        metrics: ``{scorer}_metrics`` dicts of the scorers with paper figures.
        scorers: the scorer declaration (the paper's figures are in it).

    Returns:
        The table as a DataFrame, as markdown, and as a JSON-able dict.
    """
    papers = {s.name: s.paper for s in scorers if s.paper is not None}
    rows = []
    for row in _metric_rows(metrics, [s for s in scorers if s.paper is not None]):
        paper = papers[row.pop("scorer")]
        rows.append(
            {"method": paper.method, **row, "paper_msd_roc_auc": paper.roc_auc, "paper_msd_pr_auc": paper.pr_auc}
        )
    table = pd.DataFrame(rows)
    split = metrics["audio"]["split"]
    lines = [
        f"Table 1 — macro ROC-AUC / PR-AUC on the {split} split (this run) beside Ferraro et al. 2019 on MSD.",
        "",
        "| method | ROC-AUC | PR-AUC | tracks | tags | paper ROC-AUC | paper PR-AUC |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.method} | {_with_interval(r.roc_auc, r.roc_auc_low, r.roc_auc_high)} | "
        f"{_with_interval(r.pr_auc, r.pr_auc_low, r.pr_auc_high)} | {r.tracks_scored} | {r.tags_scored} | "
        f"{r.paper_msd_roc_auc:.4f} | {r.paper_msd_pr_auc:.4f} |"
        for r in table.itertuples()
    ]
    lines += ["", "MF-centroids score only tracks with plays; the hybrid falls back to audio for the others."]
    if "interval" in metrics["audio"]:
        lines += ["", INTERVAL_NOTE.format(samples=metrics["audio"]["interval"]["samples"])]
    return table, "\n".join(lines) + "\n", {"split": split, "rows": rows}


def paired_gains(metrics: dict[str, dict], name: str, confidence: float = 0.95) -> dict:
    """Scorer ``name``'s gain over VGG (audio), relative and absolute, with the interval of
    the paired bootstrap (the same resampled tracks for both) and whether it excludes zero."""
    audio = metrics["audio"]
    out = {}
    for metric, key in (("roc_auc", "roc_auc_macro"), ("pr_auc", "pr_auc_macro")):
        point = metrics[name][key] / audio[key] - 1
        entry = {"relative": point, "absolute": metrics[name][key] - audio[key]}
        if "bootstrap" in metrics[name] and "bootstrap" in audio:
            ours, base = (np.asarray(m["bootstrap"][metric], dtype=float) for m in (metrics[name], audio))
            low, high = interval(ours / base - 1, confidence, centre=point)
            entry.update(relative_low=low, relative_high=high, excludes_zero=bool(low > 0 or high < 0))
        out[metric] = entry
    return out


def _extended_row(row: dict, labels: dict[str, str], gains: dict) -> dict:
    """One scorer's row of the extended table: scores and gains with their intervals."""
    return {
        "scorer": row["scorer"],
        "method": labels[row["scorer"]],
        **{k: row[k] for k in ("roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high")},
        **{
            f"{metric}_gain{suffix}": gains[metric].get(field)
            for metric in ("roc_auc", "pr_auc")
            for suffix, field in (("", "relative"), ("_low", "relative_low"), ("_high", "relative_high"))
        },
        "roc_auc_gain_excludes_zero": gains["roc_auc"].get("excludes_zero"),
        "pr_auc_gain_excludes_zero": gains["pr_auc"].get("excludes_zero"),
        "tracks_scored": row["tracks_scored"],
        "tags_scored": row["tags_scored"],
    }


def build_extended_table(
    metrics: dict[str, dict], scorers: tuple[Scorer, ...], selection: dict
) -> tuple[pd.DataFrame, str, dict]:
    """Table 1 with every declared scorer and its relative gain over VGG (audio), with 95 %
    intervals for the scores and for the gains (paired bootstrap).

    Args:
        metrics: ``{scorer}_metrics`` dicts, keyed by scorer name.
        scorers: the scorer declaration.
        selection: ``tagging_selection``: its ``audio+listening`` choice, the fused scorer
            best on validation, is the headline (chosen on validation, reported on test).
    """
    audio = metrics["audio"]
    confidence = (audio.get("interval") or {}).get("confidence", 0.95)
    labels = {s.name: s.label for s in scorers}
    rows = [
        _extended_row(row, labels, paired_gains(metrics, row["scorer"], confidence))
        for row in _metric_rows(metrics, scorers)
    ]
    table = pd.DataFrame(rows)
    choice = selection["audio+listening"]
    best = choice["chosen"] if choice["chosen"] in set(table["scorer"]) else None
    paper = paper_relative_gain(scorers)
    gains = table.set_index("scorer").loc[best, ["roc_auc_gain", "pr_auc_gain"]] if best else None
    ratio_roc, ratio_pr = (
        (gains["roc_auc_gain"] / paper["roc_auc"], gains["pr_auc_gain"] / paper["pr_auc"]) if best else (None, None)
    )
    lines = [
        f"Extended Table 1 — macro ROC-AUC / PR-AUC on the {audio['split']} split, relative gain over VGG (audio).",
        "",
        "| scorer | method | ROC-AUC | PR-AUC | ROC-AUC gain | PR-AUC gain | tracks | tags |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r.scorer}` | {r.method} | {_with_interval(r.roc_auc, r.roc_auc_low, r.roc_auc_high)} | "
        f"{_with_interval(r.pr_auc, r.pr_auc_low, r.pr_auc_high)} | "
        f"{_with_interval(r.roc_auc_gain, r.roc_auc_gain_low, r.roc_auc_gain_high, '{:+.1%}')} | "
        f"{_with_interval(r.pr_auc_gain, r.pr_auc_gain_low, r.pr_auc_gain_high, '{:+.1%}')} | "
        f"{r.tracks_scored} | {r.tags_scored} |"
        for r in table.itertuples()
    ]
    lines += [
        "",
        f"Paper (MSD): hybrid gain over VGG {paper['roc_auc']:+.2%} ROC-AUC, {paper['pr_auc']:+.2%} PR-AUC.",
        f"Best fused scorer on validation ({choice['criterion']}, chosen by the tagged catalogue): `{best}`; on test, "
        f"{ratio_roc:.1f}× the paper's relative ROC-AUC gain and {ratio_pr:.1f}× its PR-AUC gain."
        if best
        else "No fused scorer could be chosen on validation.",
        "Fusion weights and the classifier's strength are fitted on the validation split only; listening scorers score warm tracks only.",
    ]
    if "interval" in audio:
        lines += ["", INTERVAL_NOTE.format(samples=audio["interval"]["samples"])]
    record = {
        "split": audio["split"],
        "rows": rows,
        "best_fused": best,
        "best_fused_chosen_on": "validation",
        "best_fused_validation": choice["validation"],
        "gain_vs_paper": {"roc_auc": ratio_roc, "pr_auc": ratio_pr},
        "paper_relative_gain": paper,
    }
    return table, "\n".join(lines) + "\n", record


# --- cold start -----------------------------------------------------------------------


def cold_start_metrics(**metrics: dict) -> pd.DataFrame:
    """Each cold-start scorer's metrics per popularity bin (``{scorer}_metrics``'s
    ``by_popularity``, measured by its evaluation), as one long table: ``bin, scorer,
    tracks, tracks_scored, tags_scored, roc_auc, roc_auc_low, roc_auc_high, pr_auc,
    pr_auc_low, pr_auc_high``, bins in popularity order."""
    rows = [
        {"bin": row["bin"], "scorer": name.removesuffix("_metrics"), **{k: v for k, v in row.items() if k != "bin"}}
        for name, m in metrics.items()
        for row in m.get("by_popularity", [])
    ]
    columns = [
        "bin",
        "scorer",
        "tracks",
        "tracks_scored",
        "tags_scored",
        "roc_auc",
        "roc_auc_low",
        "roc_auc_high",
        "pr_auc",
        "pr_auc_low",
        "pr_auc_high",
    ]
    table = pd.DataFrame(rows, columns=columns)
    order = list(dict.fromkeys(table["bin"]))
    return table.sort_values("bin", key=lambda b: b.map(order.index), kind="stable").reset_index(drop=True)


def cold_start(reporting: ReportingParams, figures: FiguresParams, **metrics: dict):
    """The cold-start table (:func:`cold_start_metrics`) and its figure (:func:`plot_cold_start`)."""
    table = cold_start_metrics(**metrics)
    return table, plot_cold_start(table, reporting, figures)


def plot_cold_start(table: pd.DataFrame, reporting: ReportingParams, figures: FiguresParams):
    """Macro ROC-AUC and PR-AUC of each scorer by popularity bin (:func:`cold_start_metrics`),
    with each bin's size under it and each point's 95 % bootstrap interval as a bar: a
    small bin's wide bar shows how little it says."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    order = list(dict.fromkeys(table["bin"]))
    sizes = table.drop_duplicates("bin").set_index("bin")["tracks"].reindex(order)
    scorers = list(dict.fromkeys(table["scorer"]))
    for k, (scorer, group) in enumerate(table.groupby("scorer", sort=False)):
        group = group.set_index("bin").reindex(order)
        x = np.arange(len(order)) + (k - (len(scorers) - 1) / 2) * 0.08  # side by side within a bin
        for ax, metric in zip(axes, ("roc_auc", "pr_auc"), strict=True):
            low, high = group.get(f"{metric}_low"), group.get(f"{metric}_high")
            errors = None
            if low is not None and high is not None:
                errors = np.vstack([group[metric] - low, high - group[metric]]).clip(min=0)
            ax.errorbar(x, group[metric], yerr=errors, marker="o", capsize=2, label=scorer, linewidth=1)
    for ax, metric in zip(axes, ("ROC-AUC", "PR-AUC"), strict=True):
        ax.set_xticks(range(len(order)), [f"{b}\n({n} tracks)" for b, n in sizes.items()], fontsize=7)
        ax.set(xlabel="plays of the track", ylabel=f"macro {metric} (95 % interval)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Cold start: {reporting.cold_start.split} tracks by popularity")
    fig.tight_layout()
    return with_note(fig, figures.note)


# --- playlists ------------------------------------------------------------------------


def tag_playlists(
    track_vectors: pd.DataFrame,
    audio_scores: pd.DataFrame,
    tracks: pd.DataFrame,
    track_metadata: pd.DataFrame,
    tag_labels: pd.DataFrame,
    listening: ListeningParams,
    reporting: ReportingParams,
) -> pd.DataFrame:
    """For a few tags, the tracks nearest the tag's MF centroid: example playlists.

    Candidates are every warm track of the catalogue, in a split or not (tracks without
    audio included: listening alone places them). ``has_tag`` is the track's Last.fm label
    where the split has one, empty otherwise.
    """
    params = reporting.playlists
    tags = tag_columns(audio_scores)
    chosen = tags_in_vocabulary(params.tags, tags, "reporting.playlists.tags", fallback=len(params.tags))
    warm, vectors = warm_vectors(track_vectors, use_bias=listening.use_bias)  # the whole catalogue
    split = warm["track_id"].map(tracks.set_index("track_id")["split"])
    train, audio_train = training_side(warm, audio_scores, tracks)
    centroids = tag_centroids(vectors[train], audio_train, listening.top_n, drop_fraction=listening.drop_fraction)
    wanted = [tags.index(t) for t in chosen]
    rows, cosines = nearest_to_centroids(vectors, centroids[wanted], params.length)
    meta = track_metadata.set_index("track_id")
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
    playlists = pd.DataFrame(out, columns=["tag", "rank", "track_id", "artist", "title", "score", "split", "has_tag"])
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


# --- Figure 1: the MF space -------------------------------------------------------------


def _warm_split_vectors(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Warm split tracks and their unit-length MF vectors."""
    warm, vectors = warm_vectors(track_vectors, tag_labels["track_id"])
    return warm, unit(vectors)


def tsne_embedding(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame, figures: FiguresParams) -> pd.DataFrame:
    """2-D openTSNE embedding (cosine metric) of the split tracks' MF vectors; a seeded
    sample of ``figures.tsne.sample_size`` tracks when there are more."""
    params = figures.tsne
    from openTSNE import TSNE

    warm, unit = _warm_split_vectors(track_vectors, tag_labels)
    rng = np.random.default_rng(params.seed)
    rows = (
        np.sort(rng.choice(len(warm), size=params.sample_size, replace=False))
        if len(warm) > params.sample_size
        else np.arange(len(warm))
    )
    from msd_tagging.core.progress import Progress

    every = 25

    def tick(iteration, error, embedding) -> bool:
        bar.update(every)
        return False  # never stop early

    tsne = TSNE(
        perplexity=params.perplexity,
        metric="cosine",
        n_jobs=params.n_jobs or -1,
        random_state=params.seed,
        verbose=False,
        callbacks=tick,
        callbacks_every_iters=every,
    )
    bar = Progress(tsne.early_exaggeration_iter + tsne.n_iter, "t-SNE", "iteration", logger=logger)
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


def figure_tags(params: FiguresParams, vocabulary: list[str]) -> tuple[str, list[str]]:
    """Figure 1's highlighted tag and grid tags in the vocabulary; where a catalogue's own
    vocabulary has none of them, its first tags stand in (the log says so)."""
    highlight = tags_in_vocabulary([params.highlight_tag], vocabulary, "figures.highlight_tag", fallback=1)[0]
    grid = tags_in_vocabulary(params.grid_tags, vocabulary, "figures.grid_tags", fallback=len(params.grid_tags) or 1)
    return highlight, grid


def tsne_figures(embedding: pd.DataFrame, tag_labels: pd.DataFrame, params: FiguresParams):
    """The highlighted-tag scatter and the grid of several tags."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = tag_labels.set_index("track_id").loc[embedding["track_id"]]
    vocabulary = list(labels.columns)
    highlight, tags = figure_tags(params, vocabulary)
    single, axis = plt.subplots(figsize=(6, 6))
    _scatter(axis, embedding, labels[highlight].to_numpy() == 1, highlight)
    axis.set_title(f"MF space (t-SNE): tracks tagged {highlight} in red")
    single.tight_layout()
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
    return with_note(single, params.note), with_note(grid, params.note)


def tag_agreement(track_vectors: pd.DataFrame, tag_labels: pd.DataFrame, figures: FiguresParams) -> dict:
    """What the picture claims, measured: for each plotted tag, the share of a tagged
    track's k nearest neighbours in MF space (cosine) that carry the tag too, against
    the same share with the tag's labels shuffled across tracks (seeded).

    The queries are at most ``figures.agreement.queries`` tagged tracks per tag (and as
    many shuffled-tagged ones), drawn with a seed, so the cost does not grow with a tag's
    frequency (every tagged track is a query when there are fewer). Each share carries a
    95 % bootstrap interval over its queries. Neighbours are found in blocks
    (:func:`nearest_neighbours`), for the query tracks only when all tracks would not fit
    ``figures.agreement.memory_mb``.
    """
    params = figures.agreement
    warm, unit = _warm_split_vectors(track_vectors, tag_labels)
    labels = tag_labels.set_index("track_id").loc[warm["track_id"]]
    rng = np.random.default_rng(params.seed)
    sampler = np.random.default_rng([params.seed, 1])  # apart: the shuffles stay those of the full search
    groups = {}
    highlight, grid = figure_tags(figures, tag_columns(tag_labels))  # the figure's tags, stand-ins included
    for tag in dict.fromkeys([highlight, *grid]):
        has = labels[tag].to_numpy() == 1
        if has.sum() < 2:
            groups[tag] = (has, None, None)
            continue
        shuffled = rng.permutation(has)
        groups[tag] = (has, shuffled, [_queries(m, params.queries, sampler) for m in (has, shuffled)])
    memory = params.memory_mb << 20
    wanted = [q for _, _, queries in groups.values() if queries for q in queries]
    rows = None if 12 * len(unit) ** 2 <= memory or not wanted else np.unique(np.concatenate(wanted))
    found = nearest_neighbours(unit, params.k, rows, memory_bytes=memory)
    position = np.full(len(unit), -1)
    position[np.arange(len(unit)) if rows is None else rows] = np.arange(len(found))
    out = {}
    for tag, (has, shuffled, queries) in groups.items():
        if shuffled is None:
            out[tag] = {"tracks": int(has.sum()), "queries": 0, "agreement": None, "shuffled": None}
            continue
        (agreement, low, high), (baseline, b_low, b_high) = (
            _share(mask[found[position[q]]], params) for mask, q in zip((has, shuffled), queries, strict=True)
        )
        out[tag] = {
            "tracks": int(has.sum()),
            "queries": int(len(queries[0])),
            "agreement": agreement,
            "agreement_interval": [low, high],
            "shuffled": baseline,
            "shuffled_interval": [b_low, b_high],
            "ratio": agreement / baseline if baseline else None,
        }
    return {"k": params.k, "tracks": int(len(warm)), "queries_per_tag": params.queries, "tags": out}


def _queries(mask: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """The rows of ``mask`` to query: all of them, or ``limit`` drawn without replacement."""
    rows = np.flatnonzero(mask)
    return rows if len(rows) <= limit else np.sort(rng.choice(rows, size=limit, replace=False))


def _share(hits: np.ndarray, params) -> tuple[float, float, float]:
    """The share of neighbours ``hits`` ``[queries, k]`` that carry the tag, and its 95 %
    bootstrap interval over the queries."""
    per_query = hits.mean(axis=1)
    if not params.bootstrap:
        return float(per_query.mean()), None, None
    weights = bootstrap_weights(len(per_query), params.bootstrap, params.seed).astype(np.float64)
    return (float(per_query.mean()), *interval(per_query @ weights / weights.sum(axis=0), 0.95))
