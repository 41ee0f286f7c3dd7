"""Raw MSD tables → primary tables: tracks, tag labels, plays, ID maps, and a report.

Every row that is dropped is counted by reason; structural problems raise
:class:`~msd_tagging.core.errors.MSDDataError` naming the file or ID.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.mapping import IdMaps
from msd_tagging.core.tracks import SPLITS
from msd_tagging.params import IngestionParams
from msd_tagging.readers import AudioPathIndex, normalise_tag, split_train_valid
from msd_tagging.scoring.evaluation import require_positives

logger = logging.getLogger(__name__)


def _listed(values, limit: int) -> list:
    """At most ``limit`` items of ``values`` for a report (the counts say how many in all)."""
    return [v for _, v in zip(range(limit), values, strict=False)]


def build_tracks(
    raw_data: dict,
    split_train: list[str],
    split_test: list[str],
    unique_tracks: pd.DataFrame,
    params: IngestionParams,
) -> tuple[pd.DataFrame, dict]:
    """Tracks of the three splits with their song, artist and title.

    Args:
        raw_data: the record of the raw data in place (``draw_world``'s output: the demo
            world's marker, or ``external``).
        split_train: ``filtered_list_train.cP``: training then validation IDs.
        split_test: ``filtered_list_test.cP``.
        unique_tracks: MSD ``unique_tracks.txt``.
        params: ``n_train`` (IDs of ``split_train`` that are training) and
            ``report_max_listed``.

    Returns:
        ``tracks`` with ``track_id, song_id, artist, title, split``, and their stats.

    Raises:
        MSDDataError: if a track is in both the training list and the test list.
    """
    train, valid = split_train_valid(split_train, params.n_train)
    if not split_test:
        raise MSDDataError(
            "the test split list is empty.", fix="use the published filtered_list_test.cP, which lists 28,435 tracks."
        )
    leaked = pd.Index(split_train).intersection(pd.Index(split_test))
    if len(leaked):
        raise MSDDataError(
            f"{len(leaked)} track(s) are in both filtered_list_train.cP and filtered_list_test.cP, e.g. {leaked[0]}.",
            fix="use the published split files unchanged, or remove the overlap from one of them.",
        )
    tracks = pd.DataFrame(
        {
            "track_id": train + valid + split_test,
            "split": ["train"] * len(train) + ["valid"] * len(valid) + ["test"] * len(split_test),
        }
    )
    tracks = tracks.merge(unique_tracks, on="track_id", how="left", validate="one_to_one")
    tracks = tracks[["track_id", "song_id", "artist", "title", "split"]]
    unknown = tracks.loc[tracks["song_id"].isna(), "track_id"]

    songs = tracks.dropna(subset=["song_id"])
    shared = songs[songs["song_id"].duplicated(keep=False)]
    across = shared.groupby("song_id")["split"].nunique()
    stats = {
        "source": raw_data.get("source", "external"),
        "split_sizes": {s: int((tracks["split"] == s).sum()) for s in SPLITS},
        "split_tracks_not_in_unique_tracks": int(len(unknown)),
        "split_tracks_not_in_unique_tracks_ids": _listed(unknown, params.report_max_listed),
        "songs_with_several_split_tracks": int(shared["song_id"].nunique()),
        "songs_across_splits": int((across > 1).sum()),
        "untagged": {"as": "negative", "note": "the MSD's published split is used as it is"},
    }
    logger.info("Split sizes: %s", stats["split_sizes"])
    _say_the_split_is_published(params)
    return tracks, stats


def _say_the_split_is_published(params: IngestionParams) -> None:
    if params.untagged == "unlabelled":
        logger.info(
            "ingestion.untagged=unlabelled applies to a catalogue's tables; the MSD's split is used as published "
            "(its split tracks without a vocabulary tag stay negatives)."
        )


def list_tracks(split_tracks: pd.DataFrame, plays: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """Every track with evidence to tag it by: the source's tracks (split ones first, then any
    it lists outside the splits), then the other tracks with plays, with split ``none``.

    Returns:
        ``track_id, song_id, artist, title, split``: the catalogue the run scores and tags.
    """
    listed = split_tracks.assign(split=split_tracks["split"].fillna("none"))
    others = pd.Index(plays["track_id"].cat.categories).difference(pd.Index(listed["track_id"])).sort_values()
    meta = metadata.drop_duplicates("track_id").set_index("track_id").reindex(others)
    extra = pd.DataFrame(
        {
            "track_id": others.to_numpy(dtype=object),
            "song_id": None,
            "artist": meta["artist"].to_numpy() if "artist" in meta else None,
            "title": meta["title"].to_numpy() if "title" in meta else None,
            "split": "none",
        }
    )
    return pd.concat([listed[["track_id", "song_id", "artist", "title", "split"]], extra], ignore_index=True)


def resolve_audio(
    tracks: pd.DataFrame, audio_paths: AudioPathIndex, audio_listing: pd.DataFrame, params: IngestionParams
) -> tuple[pd.DataFrame, dict]:
    """Add each track's audio path and whether the file is there and non-empty.

    Every track of the catalogue gets a status; the bounds on missing audio are the split
    tracks'. ``audio_status`` is ``ok``, ``empty`` (zero bytes), ``missing`` (no file at the
    path), ``dangling_link`` (a symbolic link to nothing), ``not_a_file`` (a FIFO, a device
    or a socket, or a link to one: never read) or ``not_indexed`` (the path index has no
    entry). Decoding problems such as truncation are the feature extractor's
    to find. Links that point outside the audio root are followed and counted; files
    whose names are not valid UTF-8 are counted and never matched.

    Raises:
        MSDDataError: if more than ``max_missing_audio_fraction`` of the split tracks
            have no usable audio file.
    """
    if "link" not in audio_listing:
        audio_listing = audio_listing.assign(link="")
    if "bad_name" not in audio_listing:
        audio_listing = audio_listing.assign(bad_name=False)
    if "special" not in audio_listing:
        audio_listing = audio_listing.assign(special="")
    paths = audio_paths.paths_for(tracks["track_id"])
    listing = audio_listing[~audio_listing["bad_name"].to_numpy(dtype=bool)].set_index("path")
    size = paths.map(listing["size_bytes"])
    link = paths.map(listing["link"])
    special = paths.map(listing["special"]).fillna("")
    status = np.select(
        [paths.isna(), size.isna(), size < 0, special != "", size == 0],
        ["not_indexed", "missing", "dangling_link", "not_a_file", "empty"],
        default="ok",
    )
    out = tracks.assign(audio_path=paths, audio_status=status)
    in_split = out["split"].isin(SPLITS).to_numpy()
    bad = out[(out["audio_status"] != "ok").to_numpy() & in_split]
    stats = _audio_stats(
        out[in_split], bad, link[in_split], audio_listing, audio_paths.convention, params.report_max_listed
    )
    stats["tracks_outside_splits"] = {
        "count": int((~in_split).sum()),
        "with_audio": int(((out["audio_status"] == "ok").to_numpy() & ~in_split).sum()),
    }
    fraction = len(bad) / max(int(in_split.sum()), 1)
    if fraction > params.max_missing_audio_fraction:
        raise MSDDataError(
            f"{len(bad)} of {int(in_split.sum())} split tracks ({fraction:.1%}) have no usable audio file, above "
            f"max_missing_audio_fraction={params.max_missing_audio_fraction}; "
            f"e.g. {_expected_at(bad['track_id'].iloc[0], bad['audio_path'].iloc[0])}.",
            fix="check the audio root and path convention in conf/<env>/catalog.yml, or raise the threshold.",
        )
    _require_audio_in_every_split(out[in_split])
    _warn_about_audio(stats)
    return out, stats


def _expected_at(track_id: str, path: str | None) -> str:
    """``TR… expected at A/B/C/TR….mp3``, or ``TR… (no audio file)`` when none is known."""
    return f"{track_id} (no audio file)" if path is None or pd.isna(path) else f"{track_id} expected at {path}"


def _warn_about_audio(stats: dict) -> None:
    for reason, items in stats["tracks_without_audio"].items():
        logger.warning(
            "%d split track(s) without usable audio (%s), e.g. %s",
            stats["audio_status"][reason],
            reason,
            items[0]["track_id"],
        )
    named = stats["files_with_bad_names"]
    if named["count"]:
        logger.warning(
            "%d file(s) under the audio root have names that are not valid UTF-8, e.g. %s; never matched to a "
            "track (rename them).",
            named["count"],
            named["paths"][0] if named["paths"] else "?",
        )


def _require_audio_in_every_split(out: pd.DataFrame) -> None:
    """Stop when a split has no track with a usable audio file: training, every fit on
    validation and every table on test need audio in each split."""
    heard = out.loc[out["audio_status"] == "ok", "split"]
    silent = [name for name in SPLITS if not (heard == name).any() and (out["split"] == name).any()]
    if silent:
        raise MSDDataError(
            f"no {' or '.join(silent)} track has a usable audio file ({len(out[out['split'] == silent[0]])} "
            f"{silent[0]} tracks), e.g. {_expected_at(*out.loc[out['split'] == silent[0], ['track_id', 'audio_path']].iloc[0])}.",
            fix="check the audio root and path convention in conf/<env>/catalog.yml.",
        )


def _audio_stats(
    out: pd.DataFrame, bad: pd.DataFrame, link: pd.Series, listing: pd.DataFrame, convention: str, limit: int
) -> dict:
    """Counts by audio status, the tracks without audio by reason, and the links."""
    outside = out[(link == "outside").to_numpy() & (out["audio_status"] == "ok").to_numpy()]
    return {
        "audio_convention": convention,
        "audio_status": {k: int(v) for k, v in out["audio_status"].value_counts().items()},
        "tracks_without_audio": {
            reason: _listed(
                [
                    {"track_id": t, "path": p, "split": s}
                    for t, p, s in zip(g["track_id"], g["audio_path"], g["split"], strict=True)
                ],
                limit,
            )
            for reason, g in bad.groupby("audio_status")
        },
        "links_outside_audio_root": {"count": int(len(outside)), "paths": _listed(outside["audio_path"], limit)},
        "dangling_links": _listed(sorted(listing.loc[listing["link"] == "dangling", "path"]), limit),
        "linked_folders": {k: int(listing.attrs.get(k, 0)) for k in ("linked_folders", "linked_folders_outside")},
        "folder_loops_cut": int(listing.attrs.get("folder_loops_cut", 0)),
        "unreadable_folders": _listed(listing.attrs.get("unreadable_folders", []), limit),
        "files_with_bad_names": {
            "count": int(listing["bad_name"].sum()),
            "paths": _listed(sorted(listing.loc[listing["bad_name"].to_numpy(dtype=bool), "path"]), limit),
            "why": "not valid UTF-8 (shown with \\x escapes); never matched to a track: rename them",
        },
    }


def _evidence_counts(tracks: pd.DataFrame, played: pd.Index) -> dict:
    """How many tracks of the catalogue can be tagged from what: audio, plays, both, neither."""
    audio = (tracks["audio_status"] == "ok").to_numpy()
    plays = tracks["track_id"].isin(played).to_numpy()
    return {
        "tracks": int(len(tracks)),
        "in_splits": int(tracks["split"].isin(SPLITS).sum()),
        "audio_and_plays": int((audio & plays).sum()),
        "audio_only": int((audio & ~plays).sum()),
        "plays_only": int((~audio & plays).sum()),
        "neither": int((~audio & ~plays).sum()),
    }


def track_metadata(tracks: pd.DataFrame) -> pd.DataFrame:
    """``track_id, artist, title`` of every track the raw data names (MSD's
    ``unique_tracks`` or a catalogue's tracks table), one row per track, for reports."""
    meta = tracks.drop_duplicates("track_id")
    return pd.DataFrame(
        {
            "track_id": meta["track_id"].to_numpy(),
            **{c: meta[c].fillna("").to_numpy() if c in meta else "" for c in ("artist", "title")},
        }
    )


def build_id_maps(
    tracks: pd.DataFrame, plays: pd.DataFrame, song_tracks: pd.DataFrame, tag_labels: pd.DataFrame
) -> IdMaps:
    """The project's ID ↔ index maps.

    Tracks: the split tracks in split order, then the other tracks with plays. Users:
    those with plays. Songs: those mapped to a track. Tags: the vocabulary the labels
    kept, in order.
    """
    tag_list = [c for c in tag_labels.columns if c != "track_id"]
    split_ids = tracks.loc[tracks["split"].isin(SPLITS), "track_id"]
    other = pd.Index(plays["track_id"].cat.categories).difference(pd.Index(split_ids)).sort_values()
    return IdMaps.build(
        users=plays["user_id"].cat.categories,
        songs=song_tracks.dropna()["song_id"],
        tracks=list(split_ids) + list(other),
        tags=tag_list,
    )


def index_plays(plays: pd.DataFrame, id_maps: IdMaps) -> pd.DataFrame:
    """Plays as integer indices into the ID maps: ``user_idx, track_idx, play_count``."""
    user_idx = id_maps.index("users", plays["user_id"].cat.categories)[plays["user_id"].cat.codes.to_numpy()]
    track_idx = id_maps.index("tracks", plays["track_id"].cat.categories)[plays["track_id"].cat.codes.to_numpy()]
    return pd.DataFrame({"user_idx": user_idx, "track_idx": track_idx, "play_count": plays["play_count"].to_numpy()})


def build_tag_labels(
    tracks: pd.DataFrame, lastfm_tags: pd.DataFrame, tag_list: list[str], params: IngestionParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Binary labels, split tracks × vocabulary tags (``tag_labels``, what training and
    evaluation read), and the same labels for every track of the catalogue
    (``crowd_labels``: what the crowd already says, beside the tags decided here).

    Tag spellings are normalised (``Hip-Hop``, ``hip hop`` and `` HIP-HOP `` are one
    tag); where a track has several spellings of a tag, or the same row twice, the highest
    weight counts. A tag is positive when its weight is above ``params.tag_threshold``.

    Rows the reader could not use (NULL or text weights, unknown ROWIDs, ...) are counted in
    the report; above ``params.max_bad_tag_rows_fraction`` of the file the run stops. A
    vocabulary tag no training track has positive is dropped with a warning naming it: it
    could be neither learned nor measured (the labels, the ID maps and every later table
    have the vocabulary that is left; the stats keep its counts).

    Returns:
        ``track_id`` then one uint8 column per kept tag in vocabulary order, one row per
        split track in ``tracks`` order; the same for every track; and stats.

    Raises:
        MSDDataError: when too many rows are unusable, or no tag has a positive training track.
    """
    unusable = _check_unusable_tag_rows(lastfm_tags, params.max_bad_tag_rows_fraction)
    everyone = tracks
    tracks = tracks[tracks["split"].isin(SPLITS).to_numpy()].reset_index(drop=True)
    all_labels = label_matrix(everyone, lastfm_tags, tag_list, params.tag_threshold)[0]
    labels, frame, best, (tags, category_tag, in_split, in_vocab) = label_matrix(
        tracks, lastfm_tags, tag_list, params.tag_threshold
    )
    split = tracks["split"].to_numpy()
    kept = _learnable(labels, split, frame, tag_list, params.tag_threshold)
    vocabulary = [t for t, k in zip(tag_list, kept, strict=True) if k]
    out, crowd = (
        pd.DataFrame(matrix[:, kept], columns=vocabulary).assign(track_id=ids)[["track_id", *vocabulary]]
        for matrix, ids in ((labels, tracks["track_id"].to_numpy()), (all_labels, everyone["track_id"].to_numpy()))
    )
    outside = ~everyone["split"].isin(SPLITS).to_numpy()
    stats = {
        "lastfm_rows_read": int(len(lastfm_tags)),
        "lastfm_rows_unusable": unusable,
        "lastfm_rows_dropped": {
            "track_not_in_splits": int((~in_split).sum()),
            "tag_not_in_vocabulary": int((in_split & ~in_vocab).sum()),
        },
        "repeated_track_tag_rows_merged": int(len(frame) - len(best)),
        "spelling_variants_merged": _spelling_variants(frame, tags.cat.categories, category_tag, tag_list),
        "tag_threshold": params.tag_threshold,
        "positives_per_tag": {
            s: {tag: int(n) for tag, n in zip(tag_list, labels[split == s].sum(axis=0), strict=True)} for s in SPLITS
        },
        "tracks_without_positive_tag": {s: int((labels[split == s].sum(axis=1) == 0).sum()) for s in SPLITS},
        "crowd_tagged_tracks_outside_splits": int((all_labels[outside].sum(axis=1) > 0).sum()),
        "dropped_tags_without_training_positive": [t for t, k in zip(tag_list, kept, strict=True) if not k],
    }
    _require_both_classes(labels[:, kept], split)
    return out, crowd, stats


def _learnable(labels: np.ndarray, split: np.ndarray, frame: pd.DataFrame, tags: list[str], threshold) -> np.ndarray:
    """Which tags have a positive training track ``[tags]``; the others are warned about,
    by name. Stops when none has."""
    train = labels[split == "train"]
    kept = train.sum(axis=0) > 0 if len(train) else np.ones(len(tags), dtype=bool)
    if not kept.any():
        top = f"{float(frame['weight'].max()):g}" if len(frame) else "none (no vocabulary tag on a split track)"
        require_positives(
            train,
            list(tags),
            "train",
            detail=f"The highest weight of a vocabulary tag on a split track is {top}; ingestion.tag_threshold is {threshold:g}.",
        )
    if not kept.all():
        dropped = [t for t, k in zip(tags, kept, strict=True) if not k]
        logger.warning(
            "%d of %d vocabulary tags have no positive training track and are dropped (they could be neither learned "
            "nor measured): %s.",
            len(dropped),
            len(tags),
            ", ".join(map(repr, dropped[:20])) + (" ..." if len(dropped) > 20 else ""),
        )
    return kept


def _require_both_classes(labels: np.ndarray, split: np.ndarray) -> None:
    """Stop when validation or test cannot measure anything: every choice on validation
    (strengths, weights, thresholds) and every score on test needs a tag with a positive
    and a negative track there."""
    sizes = ", ".join(f"{s} {int((split == s).sum())}" for s in SPLITS)
    for name in ("valid", "test"):
        held = labels[split == name]
        positives = held.sum(axis=0)
        if not ((positives > 0) & (positives < len(held))).any():
            raise MSDDataError(
                f"no tag has both a positive and a negative track in the {name} split ({len(held)} track(s); split "
                f"sizes: {sizes}): nothing can be chosen or measured there.",
                fix="give the valid and test splits more tracks (a tracks table's split column, or "
                "ingestion.split.proportions / min_split_tracks for a made split; ingestion.n_train for the MSD).",
            )


def label_matrix(tracks: pd.DataFrame, tag_rows: pd.DataFrame, tag_list: list[str], threshold: float):
    """Binary labels ``[len(tracks), len(tag_list)]`` (uint8): a track has a tag when one of
    its rows of that tag, in any spelling, weighs more than ``threshold``.

    Works on category codes, so millions of tag rows never become Python strings.

    Returns:
        ``labels``, the rows of ``tracks`` and vocabulary tags (``track, tag, weight,
        spelling`` positions), their highest weight per (track, tag), and ``(tags as
        categorical, vocabulary position of each category, row in tracks?, row in vocabulary?)``.
    """
    tags = tag_rows["tag"].astype("category")
    vocabulary = {normalise_tag(t): i for i, t in enumerate(tag_list)}
    category_tag = np.array([vocabulary.get(normalise_tag(str(c)), -1) for c in tags.cat.categories], dtype=np.int64)
    frame, in_split, in_vocab = _split_vocabulary_rows(tracks, tag_rows, tags, category_tag)
    best = frame.groupby(["track", "tag"], sort=False)["weight"].max().reset_index()
    positive = best[best["weight"] > threshold]
    labels = np.zeros((len(tracks), len(tag_list)), dtype=np.uint8)
    labels[positive["track"].to_numpy(), positive["tag"].to_numpy()] = 1
    return labels, frame, best, (tags, category_tag, in_split, in_vocab)


def _split_vocabulary_rows(tracks: pd.DataFrame, lastfm_tags: pd.DataFrame, tags: pd.Series, category_tag: np.ndarray):
    """The Last.fm rows of split tracks and vocabulary tags as ``track, tag, weight,
    spelling`` positions, and which rows were in the splits and in the vocabulary."""
    tag_codes = tags.cat.codes.to_numpy()
    tag_idx = category_tag[tag_codes]
    track_ids = lastfm_tags["track_id"].astype("category")
    track_of_category = pd.Index(tracks["track_id"]).get_indexer(track_ids.cat.categories)
    track_pos = track_of_category[track_ids.cat.codes.to_numpy()]
    in_split = track_pos >= 0
    in_vocab = tag_idx >= 0
    rows = in_split & in_vocab
    frame = pd.DataFrame(
        {
            "track": track_pos[rows],
            "tag": tag_idx[rows],
            "weight": lastfm_tags["weight"].to_numpy()[rows],
            "spelling": tag_codes[rows],
        }
    )
    return frame, in_split, in_vocab


def _spelling_variants(frame: pd.DataFrame, spellings, category_tag: np.ndarray, tag_list: list[str]) -> dict:
    """Per vocabulary tag, the other spellings merged into it and their row counts."""
    names = np.asarray(spellings, dtype=object)
    exact = np.array([tag_list[t] == names[c] if t >= 0 else False for c, t in enumerate(category_tag)], dtype=bool)
    variants = frame.loc[~exact[frame["spelling"].to_numpy()]] if len(frame) else frame
    return {
        tag_list[t]: {str(names[c]): int(n) for c, n in g["spelling"].value_counts().items()}
        for t, g in variants.groupby("tag")
    }


def _check_unusable_tag_rows(lastfm_tags: pd.DataFrame, limit: float) -> dict:
    """The reader's counts of unusable rows (``attrs``), checked against ``limit``."""
    dropped = dict(lastfm_tags.attrs.get("dropped_rows", {}))
    total = int(lastfm_tags.attrs.get("rows_in_file", len(lastfm_tags)))
    bad = sum(dropped.values())
    record = {
        "rows_in_file": total,
        "by_reason": dropped,
        **({"merged": dict(lastfm_tags.attrs["merged_rows"])} if "merged_rows" in lastfm_tags.attrs else {}),
        "duplicate_tids": int(lastfm_tags.attrs.get("duplicate_tids", 0)),
        **(
            {"weights_rescaled": f"0-{lastfm_tags.attrs['weight_scale']:g} to 0-100 (catalog entry's weight_scale)"}
            if "weight_scale" in lastfm_tags.attrs
            else {}
        ),
        "examples": {k: v for k, v in lastfm_tags.attrs.get("examples", {}).items() if v},
    }
    source = lastfm_tags.attrs.get("source", "the Last.fm tags")
    if total and bad / total > limit:
        reasons = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in dropped.items())
        raise MSDDataError(
            f"{bad} of {total} tid_tag rows ({bad / total:.1%}) cannot be used ({reasons}), above "
            f"ingestion.max_bad_tag_rows_fraction={limit}.",
            path=source,
            fix=lastfm_tags.attrs.get(
                "fix", "tid_tag(tid, tag, val) must hold ROWIDs of tids and tags and a numeric weight 0-100"
            )
            + "; re-export, or raise the fraction to accept the loss.",
        )
    if bad:
        logger.warning("%s: %d of %d tag rows skipped as unusable: %s.", source, bad, total, dropped)
    return record


def ingestion_report(
    split_stats: dict,
    audio_stats: dict,
    song_stats: dict,
    play_stats: dict,
    tag_stats: dict,
    tracks: pd.DataFrame,
    plays: pd.DataFrame,
    params: IngestionParams,
) -> dict:
    """One JSON report: rows read, rows dropped by reason, split sizes, tracks without
    audio, tracks without plays."""
    played = pd.Index(plays["track_id"].cat.categories)
    split_tracks = tracks[tracks["split"].isin(SPLITS).to_numpy()]
    cold = split_tracks[~split_tracks["track_id"].isin(played)]
    return {
        "source": split_stats["source"],
        "splits": split_stats,
        "audio": audio_stats,
        "songs": song_stats,
        "plays": play_stats,
        "tags": tag_stats,
        "tracks_without_plays": {
            "count": {s: int((cold["split"] == s).sum()) for s in SPLITS},
            "track_ids": _listed(cold["track_id"], params.report_max_listed),
        },
        "catalogue": _evidence_counts(tracks, played),
    }
