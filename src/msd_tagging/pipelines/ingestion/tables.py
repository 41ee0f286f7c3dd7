"""Nodes of the ingestion source for a catalogue's plain tables (``sources/tables.py``).

These nodes turn plays (or a listen log), tags and tracks into what the MSD nodes would
have built from the MSD's files (split tracks, plays per user and track, the tag rows and a
vocabulary), so the shared nodes of :mod:`.nodes` make the same primary tables. A
catalogue's songs are its tracks. Without a ``split`` column a seeded, artist-disjoint,
tag-stratified split is made (:mod:`msd_tagging.catalogue.splitting`).
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd

from msd_tagging.catalogue.splitting import artist_disjoint_split, scaled_proportions, split_balance
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.tracks import SPLITS
from msd_tagging.params import IngestionParams
from msd_tagging.pipelines.ingestion.nodes import label_matrix
from msd_tagging.readers import AudioPathIndex, normalise_tag
from msd_tagging.readers.tables import (
    check_weight_scale,
    read_listens,
    read_plays,
    read_tags,
    read_tracks,
)

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".mp3", ".ogg", ".flac", ".wav", ".m4a", ".aac", ".opus", ".aiff", ".aif")


def read_catalogue_tracks(tracks_table: pd.DataFrame) -> pd.DataFrame:
    """The tracks table, typed and checked (:func:`~msd_tagging.readers.tables.read_tracks`)."""
    return read_tracks(tracks_table)


def read_catalogue_plays(
    plays_table: pd.DataFrame | None, listens_table: pd.DataFrame | None, params: IngestionParams
) -> pd.DataFrame:
    """Plays per (user, track) from the plays table, or counted from the listen log
    (repeated listens as ``ingestion.listen_repeats`` says).

    Raises:
        MSDDataError: when neither table exists, or both do (which one counts would be a guess).
    """
    if plays_table is None and listens_table is None:
        raise MSDDataError(
            "the catalogue has neither a plays table nor a listen log.",
            fix="export plays (user_id, track_id, plays) or listens (user_id, track_id, timestamp) to the paths "
            "tables.plays / tables.listens of conf/<env>/globals.yml.",
        )
    if plays_table is not None and listens_table is not None:
        raise MSDDataError(
            f"the catalogue has both a plays table ({plays_table.attrs.get('source')}) and a listen log "
            f"({listens_table.attrs.get('source')}).",
            fix="keep one of the two: plays are counted from the log when there is no plays table.",
        )
    if plays_table is not None:
        return read_plays(plays_table)
    return read_listens(listens_table, params.listen_repeats, params.max_repeated_listen_fraction)


def read_catalogue_tags(tags_table: pd.DataFrame, tracks: pd.DataFrame, params: IngestionParams) -> pd.DataFrame:
    """Tag rows ``track_id, tag, weight``; rows of tracks the tracks table lacks are dropped.

    Raises:
        MSDDataError: when more than ``params.max_unknown_id_fraction`` of the rows name
            a track the tracks table lacks, or the weights do not fit the threshold's scale.
    """
    tags = read_tags(tags_table)
    check_weight_scale(tags, params.tag_threshold, params.tag_weight_max)
    known = tags["track_id"].isin(tracks["track_id"]).to_numpy()
    _check_unknown(tags, known, "tags", params.max_unknown_id_fraction)
    kept = tags[known].reset_index(drop=True)
    kept.attrs = {
        **tags.attrs,
        "merged_rows": {**tags.attrs["merged_rows"], "track_not_in_tracks_table_dropped": int((~known).sum())},
        "fix": "every tag row needs a track_id and a tag; drop blank ones from the export",
    }
    return kept


def _check_unknown(table: pd.DataFrame, known: np.ndarray, what: str, limit: float) -> None:
    unknown = table.loc[~known, "track_id"]
    if unknown.empty:
        return
    fraction = len(unknown) / len(table)
    examples = ", ".join(map(repr, unknown.drop_duplicates().head(3)))
    if fraction > limit:
        raise MSDDataError(
            f"{len(unknown)} of {len(table)} rows ({fraction:.1%}) name a track_id the tracks table lacks, "
            f"e.g. {examples}; above ingestion.max_unknown_id_fraction={limit}.",
            path=table.attrs.get("source"),
            fix="export the tracks table with every track the plays and tags name (or raise the fraction to "
            "drop such rows).",
        )
    logger.warning("%s: %d rows name tracks the tracks table lacks (e.g. %s); dropped.", what, len(unknown), examples)


def choose_vocabulary(tags: pd.DataFrame, tracks: pd.DataFrame, params: IngestionParams) -> list[str]:
    """The tags the tagger learns: ``ingestion.vocabulary.tags``, or the ``top_n`` tags with
    the most positive tracks (weight above ``tag_threshold``; spelling variants merged and
    named by their most common spelling).

    Raises:
        MSDDataError: when no tag has a positive track, or two given tags are spellings of
            one tag (``rock`` and ``Rock ``: which one is meant is unclear).
    """
    config = params.vocabulary
    if config.tags is not None:
        return _given_vocabulary([str(t) for t in config.tags], tags.attrs.get("source"))
    positive = tags[(tags["weight"] > params.tag_threshold).to_numpy()]
    spellings = positive["tag"].astype("category").cat
    # Normalise each distinct spelling once, not each of millions of rows.
    normalised = np.array([normalise_tag(str(c)) for c in spellings.categories], dtype=object)
    key = normalised[spellings.codes.to_numpy()]
    tracks_per_tag = positive.assign(key=key).drop_duplicates(["track_id", "key"]).groupby("key").size()
    if tracks_per_tag.empty:
        top = f"{float(tags['weight'].max()):g}" if len(tags) else "none (the table has no rows)"
        raise MSDDataError(
            f"the vocabulary is empty: no tag row has a weight above ingestion.tag_threshold="
            f"{params.tag_threshold:g} (highest weight: {top}).",
            path=tags.attrs.get("source"),
            fix="lower ingestion.tag_threshold, or drop the weight column to count every row as a positive.",
        )
    spelling = positive.assign(key=key).groupby("key")["tag"].agg(lambda s: Counter(s).most_common(1)[0][0])
    order = tracks_per_tag.reset_index(name="n").sort_values(["n", "key"], ascending=[False, True], kind="stable")
    chosen = [spelling[k] for k in order["key"].head(config.top_n)]
    logger.info("Vocabulary: the %d most frequent of %d tags.", len(chosen), len(tracks_per_tag))
    return chosen


def _given_vocabulary(given: list[str], source: str | None) -> list[str]:
    """``ingestion.vocabulary.tags`` checked: no two spellings of one tag (a tag no training
    track has positive is dropped later, by ``build_tag_labels``, for every source)."""
    seen: dict[str, str] = {}
    for tag in given:
        key = normalise_tag(tag)
        if key in seen:
            raise MSDDataError(
                f"ingestion.vocabulary.tags names one tag twice: {seen[key]!r} and {tag!r} are spellings of "
                f"{key!r} (tags are matched case- and space-insensitively, as Hip-Hop and hip hop).",
                path=source,
                fix="keep one spelling of each tag in ingestion.vocabulary.tags.",
            )
        seen[key] = tag
    return given


def assign_split(
    tracks: pd.DataFrame, tags: pd.DataFrame, tag_list: list[str], audio_paths: AudioPathIndex, params: IngestionParams
) -> tuple[pd.DataFrame, dict]:
    """Every track of the tracks table ``track_id, song_id, artist, title, split``: the
    split tracks first (train, then valid, then test, each in table order), then the others
    with split ``none``; and the split's report.

    The table's ``split`` column is used when it names any split; tracks it leaves empty
    have plays only. Otherwise every track with an audio file is split: seeded,
    artist-disjoint, stratified over the vocabulary's tags (``params.split``); tracks
    without audio keep their plays for the listening side only. With ``ingestion.untagged:
    unlabelled`` a track with no tag row at all is in no split (neither trained nor
    evaluated on, but tagged), whatever its split column says; a track the crowd tagged
    with tags outside the vocabulary is labelled, a negative for every vocabulary tag.
    """
    config = params.split
    labels = label_matrix(tracks, tags, tag_list, params.tag_threshold)[0]
    tagged = tracks["track_id"].isin(tags["track_id"]).to_numpy()  # any crowd tag row, in the vocabulary or not
    eligible = tagged if params.untagged == "unlabelled" else np.ones(len(tracks), dtype=bool)
    given = tracks["split"].notna().any()
    if given:
        split = np.where(eligible, tracks["split"].to_numpy(dtype=object), None)
    else:
        heard = tracks["track_id"].isin(audio_paths.table["track_id"]).to_numpy() & eligible
        split = np.full(len(tracks), None, dtype=object)
        split[heard] = artist_disjoint_split(tracks["artist"][heard], labels[heard], config)
    in_split = pd.Series(split).isin(SPLITS).to_numpy()
    _require_every_split(split[in_split], tracks["artist"][in_split], given, tracks.attrs.get("source"))
    balance = split_balance(split[in_split], labels[in_split], tag_list, tracks["artist"][in_split], config)
    _report_split_sizes(balance, config, given, int(in_split.sum()))
    out = tracks.assign(split=np.where(in_split, split, "none"), song_id=tracks["track_id"])
    order = np.argsort(pd.Categorical(out["split"], categories=(*SPLITS, "none")).codes, kind="stable")
    out = out.iloc[order][["track_id", "song_id", "artist", "title", "split"]].reset_index(drop=True)
    stats = {
        "source": "tables",
        "split_made": not given,
        "split_sizes": balance["sizes"],
        "tracks_outside_splits": int((~in_split).sum()),
        "untagged": {
            "as": params.untagged,
            "tracks": int((~tagged).sum()),
            "kept_out_of_the_splits": int((~tagged & ~in_split).sum()) if params.untagged == "unlabelled" else 0,
        },
        "balance": balance,
        "config": {"proportions": list(config.proportions), "seed": config.seed} if not given else None,
    }
    logger.info(
        "Split sizes: %s (%s); %d track(s) without any crowd tag (%s).",
        stats["split_sizes"],
        "made here" if not given else "from the tracks table",
        int((~tagged).sum()),
        params.untagged,
    )
    return out, stats


def _report_split_sizes(balance: dict, config, given: bool, n_tracks: int) -> None:
    """Warn about (and add to the split's report) a split too small for the fits on it, and
    tags short of positives; record the shares a made split used."""
    if not given:
        balance["shares_used"] = dict(zip(SPLITS, map(float, scaled_proportions(config, n_tracks)), strict=True))
    small = {s: n for s, n in balance["sizes"].items() if s != "train" and n < config.min_split_tracks}
    if small:
        logger.warning(
            "Small split(s): %s tracks. Fusion weights, the classifier's strength and the tagging thresholds are "
            "fitted on valid, and what to expect is measured on test: with so few tracks they are rough. %s",
            ", ".join(f"{s} {n}" for s, n in small.items()),
            "Give the tracks table's split column more valid and test tracks."
            if given
            else "The catalogue is too small for more (ingestion.split.min_split_tracks).",
        )
        balance["small_splits"] = small
    for name, short in balance["tags_short_of_positives"].items():
        if short:
            logger.warning(
                "%d tag(s) have fewer than %d positive(s) in the %s split: %s.",
                len(short),
                config.min_positives,
                name,
                ", ".join(short[:10]),
            )


def _require_every_split(split: np.ndarray, artists: pd.Series, given: bool, source: str | None) -> None:
    """Stop when a split is empty: training, early stopping, every fit on validation and
    every table on test need tracks. For a made split, say why it came out empty."""
    empty = [name for name in SPLITS if not (split == name).any()]
    if not empty:
        return
    sizes = ", ".join(f"{name}: {int((split == name).sum())}" for name in SPLITS)
    if given:
        raise MSDDataError(
            f"the tracks table's split column gives no track to {' or '.join(empty)} ({sizes}).",
            path=source,
            fix="give every split tracks (train, valid and test), or drop the split column to have one made.",
        )
    n_artists = artists.fillna("").nunique() if len(artists) else 0
    named = artists.notna().sum()
    reason = (
        f"the {len(split)} tracks with audio come from {n_artists} artist(s), and one artist's tracks stay in one "
        "split (artist-disjoint), so at least three artists are needed"
        if named == len(artists) and n_artists < 3
        else f"the {len(split)} tracks with audio are too few for ingestion.split.proportions"
    )
    raise MSDDataError(
        f"the split made here leaves {' and '.join(empty)} empty ({sizes}): {reason}.",
        path=source,
        fix="add tracks of more artists (or tracks without an artist, split one by one), give a split column, "
        "or raise the valid/test shares of ingestion.split.proportions.",
    )


def catalogue_audio_paths(tracks: pd.DataFrame, audio_listing: pd.DataFrame) -> AudioPathIndex:
    """Where each track's audio is: its ``audio_path``, else a file named ``{track_id}.<ext>``
    anywhere under the audio folder (any audio extension; the shallowest, then the first
    by name, when there are several). Files whose names are not valid UTF-8 are never
    matched (the listing counts them)."""
    if "bad_name" in audio_listing:
        audio_listing = audio_listing[~audio_listing["bad_name"].to_numpy(dtype=bool)]
    listing = audio_listing.assign(
        stem=audio_listing["path"].map(lambda p: p.rsplit("/", 1)[-1].rsplit(".", 1)[0]),
        audio=audio_listing["path"].str.lower().str.endswith(AUDIO_EXTENSIONS),
        depth=audio_listing["path"].str.count("/"),
    )
    found = (
        listing[listing["audio"].to_numpy()]
        .sort_values(["depth", "path"], kind="stable")
        .drop_duplicates("stem")
        .set_index("stem")["path"]
    )
    paths = tracks["audio_path"].where(tracks["audio_path"].notna(), tracks["track_id"].map(found))
    table = pd.DataFrame({"track_id": tracks["track_id"], "path": paths}).dropna()
    return AudioPathIndex("index", table.reset_index(drop=True))


def _check_zero_plays(plays: pd.DataFrame, zero: np.ndarray, limit: float) -> None:
    """Rows with no play carry no listening: dropped, counted and warned; above ``limit``
    of the rows the export is more likely wrong (a column mix-up) and the run stops."""
    if not zero.any():
        return
    share = zero.sum() / len(plays)
    if share > limit:
        raise MSDDataError(
            f"{int(zero.sum())} of {len(plays)} (user, track) pairs ({share:.1%}) have 0 plays, above "
            f"ingestion.max_zero_play_fraction={limit}.",
            path=plays.attrs.get("source"),
            fix="check that the plays column holds play counts; raise the fraction if the export lists unplayed "
            "pairs on purpose.",
        )
    logger.warning(
        "%s: %d (user, track) pair(s) (%.1f%%) have 0 plays; dropped and counted.",
        plays.attrs.get("source", "plays"),
        int(zero.sum()),
        100 * share,
    )


def plays_by_track(
    plays: pd.DataFrame, tracks: pd.DataFrame, params: IngestionParams
) -> tuple[pd.DataFrame, dict, pd.DataFrame, dict]:
    """Plays per (user, track) as MSD ingestion makes them, and the songs map (a
    catalogue's songs are its tracks).

    Returns:
        ``plays_by_id`` (``user_id, track_id`` categorical in first-seen order,
        ``play_count`` int32), its stats, ``song_tracks`` and its stats.

    Raises:
        MSDDataError: when more than ``max_unknown_id_fraction`` of the rows name a track
            the tracks table lacks.
    """
    known = plays["track_id"].isin(tracks["track_id"]).to_numpy()
    _check_unknown(plays, known, "plays", params.max_unknown_id_fraction)
    below = (plays["play_count"] < 1).to_numpy()
    _check_zero_plays(plays, below, params.max_zero_play_fraction)
    kept = plays[known & ~below]
    users = pd.Categorical(kept["user_id"], categories=pd.unique(kept["user_id"]))
    track_ids = pd.Categorical(kept["track_id"], categories=pd.unique(kept["track_id"]))
    by_id = pd.DataFrame(
        {"user_id": users, "track_id": track_ids, "play_count": kept["play_count"].to_numpy(dtype=np.int32)}
    ).reset_index(drop=True)
    stats = {
        "rows_read": int(plays.attrs.get("rows_in_file", len(plays))),
        "rows_merged": dict(plays.attrs.get("merged_rows", {})),
        "rows_dropped": {
            "play_count_below_1": int((known & below).sum()),
            "track_not_in_tracks_table": int((~known).sum()),
        },
        "plays_rows": int(len(by_id)),
        "users": int(len(users.categories)),
        "tracks_with_plays": int(len(track_ids.categories)),
    }
    logger.info(
        "Plays: %d (user, track) pairs of %d users; dropped %s", len(by_id), stats["users"], stats["rows_dropped"]
    )
    songs = pd.DataFrame({"song_id": tracks["track_id"], "track_id": tracks["track_id"]})
    return by_id, stats, songs, {"songs_are_tracks": True, "tracks": int(len(tracks))}
