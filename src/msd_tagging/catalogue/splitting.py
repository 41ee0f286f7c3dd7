"""Splits for a catalogue without one: seeded, stratified over tags, artist-disjoint.

A track's artist decides its split, so no artist is heard in both training and test (the
"artist filter" of music-tagging evaluation; without it a tagger can learn artists and
look better than it is). Within that constraint, artists are placed one at a time so that
every split receives its share of every tag: iterative stratification (Sechidis et al.
2011) over groups of tracks, rarest tags first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msd_tagging.core.config import parameters, setting
from msd_tagging.core.errors import ParameterError
from msd_tagging.core.tracks import SPLITS

# Pons et al. 2018's MSD split: 201,680 / 11,774 / 28,435 tracks.
PONS_PROPORTIONS = (201680 / 241889, 11774 / 241889, 28435 / 241889)


@parameters("ingestion.split")
class SplitConfig:
    """How a split is made (``ingestion.split``).

    Attributes:
        proportions: shares of train, valid and test (normalised); Pons et al.'s by default.
        seed: the seed of the tie-breaking order; the same seed gives the same split.
        min_positives: a tag with fewer positives than this in a split is reported.
        min_split_tracks: validation and test get at least this many tracks where the
            catalogue allows: for a small catalogue their shares grow (up to
            :data:`MAX_VALID_SHARE` and :data:`MAX_TEST_SHARE`), since fusion weights,
            classifier strengths and thresholds are fitted on validation, and intervals
            come from test. 0 keeps ``proportions`` as they are.
    """

    proportions: tuple[float, ...] = setting(PONS_PROPORTIONS, minimum=0.0)
    seed: int = setting(20191104, minimum=0)
    min_positives: int = setting(1, minimum=0)
    min_split_tracks: int = setting(200, minimum=0)

    def __post_init__(self):
        name = "ingestion.split"
        shares = list(self.proportions)
        if len(shares) != 3:
            raise ParameterError(
                f"{name}.proportions",
                f"needs 3 shares (train, valid, test), got {len(shares)}.",
                fix="e.g. [0.8, 0.1, 0.1]",
            )
        if sum(shares) <= 0 or shares[0] <= 0 or shares[2] <= 0:
            raise ParameterError(f"{name}.proportions", "train and test need a share above 0.")
        object.__setattr__(self, "proportions", tuple(float(s) / sum(shares) for s in shares))


MAX_VALID_SHARE, MAX_TEST_SHARE = 0.2, 0.25  # how far a small catalogue's shares may grow


def scaled_proportions(config: SplitConfig, n_tracks: int) -> tuple[float, float, float]:
    """The shares a made split uses for ``n_tracks``: ``config.proportions``, with
    validation and test grown to ``config.min_split_tracks`` tracks each where they would
    get fewer (up to a fifth and a quarter of the catalogue), train taking the rest."""
    train, valid, test = config.proportions
    if config.min_split_tracks and n_tracks:
        floor = config.min_split_tracks / n_tracks
        valid = min(max(valid, floor), MAX_VALID_SHARE) if valid > 0 else 0.0
        test = min(max(test, floor), MAX_TEST_SHARE)
        valid, test = max(valid, config.proportions[1]), max(test, config.proportions[2])
    return (1.0 - valid - test, valid, test)


def artist_disjoint_split(artists: pd.Series, labels: np.ndarray, config: SplitConfig) -> np.ndarray:
    """A split name per track, with every artist's tracks in one split.

    Args:
        artists: each track's artist; a missing artist makes the track its own group.
        labels: binary tags ``[shape=(n_tracks, n_tags)]``.
        config: the shares, the seed and the reporting threshold.

    Returns:
        ``[shape=(n_tracks,)]`` of ``"train"``, ``"valid"`` or ``"test"``.
    """
    n = len(artists)
    keys = artists.astype(object).where(
        artists.notna(), pd.Series([f"\0track {i}" for i in range(n)], index=artists.index)
    )
    group_of, names = pd.factorize(keys.to_numpy(), sort=False)
    n_groups = len(names)
    sizes = np.bincount(group_of, minlength=n_groups).astype(np.float64)
    group_labels = np.zeros((n_groups, labels.shape[1]))
    np.add.at(group_labels, group_of, labels.astype(np.float64))

    share = np.asarray(scaled_proportions(config, n))
    totals = labels.sum(axis=0).astype(np.float64)
    wanted_tags = share[:, None] * totals[None, :]  # [3, tags]
    wanted_tracks = share * n
    have_tags = np.zeros_like(wanted_tags)
    have_tracks = np.zeros(3)
    assignment = np.empty(n_groups, dtype=np.int64)
    for g in _placement_order(group_labels, sizes, totals, config.seed):
        # Sechidis et al.: the group goes to the split that lacks most of its rarest tag (as
        # a share of the tag's total), then of its tags on average, then of tracks.
        tagged = np.flatnonzero(group_labels[g] > 0)
        need = (wanted_tags - have_tags) / np.maximum(totals, 1.0)[None, :]
        room = (wanted_tracks - have_tracks) / max(n, 1)
        if len(tagged):
            rarest = tagged[np.argmin(totals[tagged])]
            keys = (room, need[:, tagged].mean(axis=1), need[:, rarest])
        else:
            keys = (room,)
        split = int(np.lexsort(keys)[-1])
        assignment[g] = split
        have_tags[split] += group_labels[g]
        have_tracks[split] += sizes[g]
    return np.asarray(SPLITS, dtype=object)[assignment[group_of]]


def _placement_order(group_labels: np.ndarray, sizes: np.ndarray, totals: np.ndarray, seed: int) -> np.ndarray:
    """Groups holding the rarest tags first, then larger groups first, ties in seeded order."""
    rarity = np.where(group_labels > 0, totals[None, :], np.inf).min(axis=1) if group_labels.shape[1] else None
    shuffle = np.random.default_rng(seed).permutation(len(sizes))
    if rarity is None:
        return np.lexsort((shuffle, -sizes))
    return np.lexsort((shuffle, -sizes, rarity))


def split_balance(
    split: np.ndarray, labels: np.ndarray, tags: list[str], artists: pd.Series, config: SplitConfig
) -> dict:
    """How well a split shares out tags and artists, for the ingestion report.

    Returns:
        ``sizes``; ``tag_share`` per split (its share of each tag's positives: mean and
        the worst absolute gap from the split's share of tracks); ``tags_short_of_positives``
        per split (tags with fewer than ``config.min_positives`` positives there); and
        ``artists_in_several_splits`` (0 for a split made here).
    """
    sizes = {s: int((split == s).sum()) for s in SPLITS}
    totals = labels.sum(axis=0)
    report: dict = {"sizes": sizes, "tag_share": {}, "tags_short_of_positives": {}}
    for s in SPLITS:
        mask = split == s
        positives = labels[mask].sum(axis=0)
        track_share = mask.mean() if len(mask) else 0.0
        shares = np.divide(positives, totals, out=np.zeros(len(tags)), where=totals > 0)
        report["tag_share"][s] = {
            "track_share": round(float(track_share), 4),
            "mean_tag_share": round(float(shares[totals > 0].mean()), 4) if (totals > 0).any() else None,
            "largest_gap": round(float(np.abs(shares - track_share)[totals > 0].max()), 4)
            if (totals > 0).any()
            else None,
        }
        report["tags_short_of_positives"][s] = [
            t for t, p in zip(tags, positives, strict=True) if p < config.min_positives
        ]
    known = artists.notna().to_numpy()
    per_artist = pd.Series(split[known]).groupby(artists[known].to_numpy()).nunique()
    report["artists_in_several_splits"] = int((per_artist > 1).sum())
    return report
