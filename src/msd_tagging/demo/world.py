"""The demo world's hidden truth: tracks, their tags, and who listens to them.

Every track has hidden attributes. Some are *audible* (genre through tempo, drum pattern
and timbre; vocals; major/minor; acoustic or electronic) and drive both the rendered
audio and the genre, instrument and mood tags. Era is *faintly audible*: a recording
sounds like its decade (bandwidth, tape hiss, loudness) only for a share
``era_audible`` of tracks, the rest sound like another decade, as reissues, retro
productions and remasters do. The qualities ``beautiful``, ``catchy``, ``sexy`` and
``party`` are *inaudible*. Era and qualities shape who listens, because listeners
gather in scenes by era and taste. So the listening data carries tag information that
the audio lacks or only hints at, as the paper argues for the real MSD.

Tags are observed the way Last.fm users give them: true tags are often missing,
spurious tags appear, weights run 0-100, popular tags are given far more often, and
spellings vary (``Hip-Hop``, ``hip hop``, `` HIP-HOP ``).
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.core.config import choice, integer, parameters, setting
from msd_tagging.core.errors import ParameterError
from msd_tagging.core.provenance import digest, source_digest

# The 50-tag vocabulary in the order every published MSD result uses.
MSD_50_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

ERAS = ("60s", "70s", "80s", "90s", "00s")
QUALITIES = ("beautiful", "catchy", "sexy", "party")
VOCALS = ("female", "male", "none")
LEADS = ("dist_guitar", "clean_guitar", "pluck", "synth", "pad", "brass", "piano")
DRUMS = ("four", "backbeat", "boombap", "swing", "punk", "metal", "none")

# Per genre: catalogue share, tempo (bpm), era prior (60s..00s), drum pattern and lead
# instrument probabilities, P(acoustic), vocal probabilities (female, male, none), P(major).
GENRES: dict[str, dict] = {
    "rock":       dict(share=.17, bpm=120, era=(.12, .30, .25, .18, .15), drums={"backbeat": 1}, lead={"clean_guitar": .5, "dist_guitar": .4, "piano": .1}, acoustic=.2, vocals=(.2, .7, .1), major=.6),
    "indie":      dict(share=.11, bpm=126, era=(0, 0, .05, .30, .65), drums={"backbeat": .9, "four": .1}, lead={"clean_guitar": .6, "synth": .2, "pluck": .2}, acoustic=.25, vocals=(.35, .55, .1), major=.55),
    "pop":        dict(share=.12, bpm=112, era=(.10, .15, .30, .20, .25), drums={"backbeat": .6, "four": .4}, lead={"synth": .4, "piano": .4, "clean_guitar": .2}, acoustic=.15, vocals=(.6, .35, .05), major=.75),
    "electronic": dict(share=.08, bpm=130, era=(0, .02, .20, .35, .43), drums={"four": .8, "none": .2}, lead={"synth": .8, "pad": .2}, acoustic=0, vocals=(.2, .1, .7), major=.45),
    "house":      dict(share=.05, bpm=124, era=(0, 0, .15, .45, .40), drums={"four": 1}, lead={"synth": .7, "piano": .3}, acoustic=0, vocals=(.5, .1, .4), major=.6),
    "hiphop":     dict(share=.06, bpm=92, era=(0, .02, .20, .40, .38), drums={"boombap": 1}, lead={"piano": .4, "synth": .4, "brass": .2}, acoustic=.05, vocals=(.1, .85, .05), major=.35),
    "metal":      dict(share=.06, bpm=165, era=(0, .20, .40, .25, .15), drums={"metal": 1}, lead={"dist_guitar": 1}, acoustic=0, vocals=(.05, .9, .05), major=.15),
    "punk":       dict(share=.04, bpm=180, era=(0, .40, .30, .20, .10), drums={"punk": 1}, lead={"dist_guitar": 1}, acoustic=0, vocals=(.15, .85, 0), major=.6),
    "jazz":       dict(share=.05, bpm=140, era=(.40, .30, .10, .10, .10), drums={"swing": 1}, lead={"brass": .6, "piano": .4}, acoustic=.9, vocals=(.3, .1, .6), major=.6),
    "blues":      dict(share=.03, bpm=80, era=(.45, .30, .10, .10, .05), drums={"backbeat": .8, "swing": .2}, lead={"clean_guitar": .7, "piano": .3}, acoustic=.6, vocals=(.2, .75, .05), major=.4),
    "soul":       dict(share=.05, bpm=96, era=(.35, .35, .10, .10, .10), drums={"backbeat": 1}, lead={"brass": .5, "piano": .5}, acoustic=.5, vocals=(.55, .45, 0), major=.6),
    "funk":       dict(share=.03, bpm=106, era=(.20, .50, .20, .05, .05), drums={"backbeat": 1}, lead={"brass": .5, "clean_guitar": .5}, acoustic=.4, vocals=(.3, .6, .1), major=.7),
    "folk":       dict(share=.05, bpm=96, era=(.35, .25, .10, .10, .20), drums={"none": .7, "backbeat": .3}, lead={"pluck": 1}, acoustic=1, vocals=(.45, .5, .05), major=.55),
    "country":    dict(share=.03, bpm=104, era=(.20, .30, .20, .20, .10), drums={"backbeat": 1}, lead={"pluck": .6, "clean_guitar": .4}, acoustic=.85, vocals=(.35, .65, 0), major=.8),
    "ambient":    dict(share=.04, bpm=70, era=(0, .10, .20, .40, .30), drums={"none": 1}, lead={"pad": 1}, acoustic=.1, vocals=(.1, 0, .9), major=.4),
}  # fmt: skip
GENRE_NAMES = tuple(GENRES)

# How often a true tag is actually given on Last.fm: popular tags far more often.
TAG_OBSERVED = {tag: 0.95 * (0.985**i) for i, tag in enumerate(MSD_50_TAGS)}
# Spelling variants as Last.fm users type them; the ingestion must merge them.
SPELLINGS = {
    "Hip-Hop": ("Hip-Hop", "hip hop", " HIP-HOP ", "Hip Hop", "hip-hop"),
    "Progressive rock": ("Progressive rock", "progressive rock", "Progressive Rock"),
    "House": ("House", "house"),
    "Mellow": ("Mellow", "mellow"),
    "female vocalists": ("female vocalists", "Female Vocalists"),
    "indie rock": ("indie rock", "Indie-Rock"),
}
OTHER_TAGS = ("seen live", "favorites", "awesome", "love", "british", "american", "Favourite")


@parameters("demo_data")
class DemoWorldConfig:
    """Size and shape of the demo world. Every field comes from ``parameters_demo_data.yml``."""

    generate: bool = True  # draw the world when its files are missing (false: use the raw files in place)
    seed: int = setting(20191104, minimum=0)
    n_train: int = setting(1400, minimum=1)  # first IDs of filtered_list_train.cP
    n_valid: int = setting(200, minimum=1)  # the rest of filtered_list_train.cP
    n_test: int = setting(400, minimum=1)  # filtered_list_test.cP
    n_extra: int = setting(200, minimum=0)  # tracks with plays but no audio and no split (the rest of the MSD)
    n_duplicates: int = setting(24, minimum=0)  # extra tracks that repeat another track's song
    n_users: int = setting(5000, minimum=1)
    n_scenes: int = setting(16, minimum=1)  # listener communities, by era and taste
    activity_alpha: float = setting(2.2, above=0.0)  # power-law exponent of tracks per listener
    activity_min: int = setting(6, minimum=1)
    activity_max: int = setting(600, minimum=1)
    popularity_alpha: float = setting(1.2, above=0.0)  # power-law exponent of track popularity
    cold_fraction: float = setting(0.02, minimum=0.0, maximum=1.0)  # split tracks nobody plays
    repeated_rows: int = setting(20, minimum=0)  # (user, song) rows split in two, as merged logs produce
    n_mismatches: int = setting(6, minimum=0)  # wrong song↔track matches listed in sid_mismatches.txt
    n_accepted: int = setting(1, minimum=0)  # of which manually accepted as right
    era_weight: float = setting(2.5, minimum=0.0)  # how strongly listeners follow their scene's eras
    genre_weight: float = setting(1.6, minimum=0.0)
    quality_weight: float = setting(2.0, minimum=0.0)
    era_audible: float = setting(0.5, minimum=0.0, maximum=1.0)  # share of tracks whose production sounds like
    # their real era
    never_tagged_fraction: float = setting(0.04, minimum=0.0, maximum=1.0)  # tracks nobody tagged on Last.fm
    untagged_fraction: float = setting(0.0, minimum=0.0, maximum=0.9)  # split tracks whose crowd tags are all
    # removed from the written tags and kept apart (hidden_tags.csv): unlabelled tracks with a known answer
    spurious_rate: float = setting(0.8, minimum=0.0)  # mean number of random vocabulary tags per track
    tag_dropout: float = setting(0.0, minimum=0.0, maximum=0.99)  # share of vocabulary tag rows Last.fm users
    # never gave (drawn apart: audio and listening stay the same world's)
    seconds: float = setting(6.0, above=0.0)  # clip length
    sample_rate: int = setting(16000, minimum=4000)
    workers: int = setting(0, minimum=0)  # audio rendering processes; 0 = all cores
    flaws: dict = setting(factory=lambda: {"zero_byte": 1, "truncated": 1, "missing": 1})  # damaged or absent
    # audio among split tracks

    def __post_init__(self):
        if self.activity_max < self.activity_min:
            raise ParameterError("demo_data.activity_max", f"{self.activity_max} is below activity_min.")
        if self.n_accepted > self.n_mismatches:
            raise ParameterError("demo_data.n_accepted", f"{self.n_accepted} is more than n_mismatches.")
        for flaw, count in self.flaws.items():
            choice(flaw, "demo_data.flaws", ("zero_byte", "truncated", "missing"))
            integer(count, f"demo_data.flaws.{flaw}", minimum=0)

    def fingerprint(self) -> str:
        """Stable hash of everything that shapes the written files: these fields (not
        ``workers``) and the generator's own code, so a changed generator redraws."""
        shape = {k: v for k, v in asdict(self).items() if k not in ("workers", "generate")}
        return digest(shape, _generator_revision())


def _generator_revision() -> str:
    """Digest of the source files that draw, render and write the demo world (not the
    rehearsal generator beside them)."""
    return source_digest(*(Path(__file__).parent / name for name in ("world.py", "synth.py", "writer.py")))


@dataclass
class DemoWorld:
    """A drawn demo world, ready to be written as MSD files.

    Attributes:
        config: what it was drawn from.
        tracks: one row per track with its IDs, metadata, split, hidden attributes,
            rendering seed and ``flaw`` (``ok``, ``zero_byte``, ``truncated``, ``missing``,
            or ``no_audio`` for tracks outside the splits).
        triplets: Taste Profile rows ``user_id, song_id, play_count``.
        lastfm: Last.fm tag rows ``track_id, tag, weight`` (raw spellings).
        mismatches: ``song_id, track_id, artist, title, accepted`` wrong matches.
        train_ids: training then validation IDs, as in ``filtered_list_train.cP``.
        test_ids: as in ``filtered_list_test.cP``.
        hidden: the tag rows removed from tracks made untagged (``untagged_fraction``):
            the known answer for those tracks, written apart from the tags.
    """

    config: DemoWorldConfig
    tracks: pd.DataFrame
    triplets: pd.DataFrame
    lastfm: pd.DataFrame
    mismatches: pd.DataFrame
    train_ids: list[str]
    test_ids: list[str]
    tags: tuple[str, ...] = MSD_50_TAGS
    hidden: pd.DataFrame | None = None


@dataclass(frozen=True)
class RawDataOnDisk:
    """The raw files are already in place (a demo world drawn from the same config, or a
    user's real MSD): nothing to write."""

    root: str
    source: str  # "demo" or "external"


def build_world(config: DemoWorldConfig) -> DemoWorld:
    """Draw a demo world, deterministically from ``config.seed``."""
    rng = np.random.default_rng(config.seed)
    tracks = _draw_tracks(config, rng)
    lastfm = _draw_lastfm_tags(tracks, config, rng)
    triplets, mismatches = _draw_listening(tracks, config, rng)
    lastfm, hidden = _hide_tags(_drop_tags(lastfm, config), tracks, config)
    in_split = tracks[tracks["split"] != "none"]
    train_ids = list(in_split.loc[in_split["split"] == "train", "track_id"]) + list(
        in_split.loc[in_split["split"] == "valid", "track_id"]
    )
    test_ids = list(in_split.loc[in_split["split"] == "test", "track_id"])
    return DemoWorld(config, tracks, triplets, lastfm, mismatches, train_ids, test_ids, hidden=hidden)


# --- tracks -------------------------------------------------------------------------

_ID_CHARS = np.array(list(string.ascii_uppercase + string.digits))
_LETTERS = np.array(list(string.ascii_uppercase))


def _msd_ids(prefix: str, n: int, rng: np.random.Generator) -> list[str]:
    """Distinct IDs shaped like MSD's: prefix + 3 letters + 13 letters or digits."""
    ids: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        head = rng.choice(_LETTERS, size=3)
        tail = rng.choice(_ID_CHARS, size=13)
        value = prefix + "".join(head) + "".join(tail)
        if value not in ids:
            ids.add(value)
            out.append(value)
    return out


_SYLLABLES = ("ka", "lo", "mi", "ra", "ve", "to", "sun", "dre", "bel", "nor", "ix", "pa", "zu", "qua", "lin", "mor")


def _names(n: int, rng: np.random.Generator, words: int) -> list[str]:
    out = []
    for _ in range(n):
        parts = ["".join(rng.choice(_SYLLABLES, size=rng.integers(1, 4))).capitalize() for _ in range(words)]
        out.append(" ".join(parts))
    return out


def _pick(rng: np.random.Generator, options: dict[str, float]) -> str:
    names = list(options)
    p = np.array([options[k] for k in names], dtype=float)
    return names[rng.choice(len(names), p=p / p.sum())]


def _draw_tracks(config: DemoWorldConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Every track: hidden attributes, split, IDs, names, rendering seed and flaw.

    The steps draw from ``rng`` in a fixed order; keep it, or every world changes.
    """
    n_base = config.n_train + config.n_valid + config.n_test + config.n_extra
    tracks = _draw_attributes(n_base, rng)
    # The decade a recording *sounds* like: its own, or for the rest a random one.
    sounds_true = rng.random(n_base) < config.era_audible
    other_era = np.array(ERAS)[rng.integers(0, len(ERAS), size=n_base)]
    tracks["production"] = np.where(sounds_true, tracks["era"].to_numpy(), other_era)
    tracks["split"] = np.array(
        ["train"] * config.n_train + ["valid"] * config.n_valid + ["test"] * config.n_test + ["none"] * config.n_extra
    )
    tracks["song_id"] = _msd_ids("SO", n_base, rng)
    tracks = _add_duplicates(tracks, config.n_duplicates, rng)
    n = len(tracks)
    tracks.insert(0, "track_id", _msd_ids("TR", n, rng))
    tracks.insert(2, "artist", _names(n, rng, 2))
    tracks.insert(3, "title", _names(n, rng, 3))
    # Same recording for a duplicate: same rendering seed and attributes.
    seeds = rng.integers(0, 2**31 - 1, size=n)
    dup = tracks["duplicate_of"].to_numpy()
    seeds[dup >= 0] = seeds[dup[dup >= 0]]
    tracks["audio_seed"] = seeds

    # Damaged audio among training tracks, so every demo run meets the bad-file paths.
    tracks["flaw"] = np.where(tracks["split"] == "none", "no_audio", "ok")
    candidates = np.flatnonzero((tracks["split"] == "train").to_numpy() & (dup < 0))
    wanted = [kind for kind, count in config.flaws.items() for _ in range(int(count))]
    for kind, row in zip(wanted, rng.choice(candidates, size=len(wanted), replace=False), strict=True):
        tracks.loc[row, "flaw"] = kind
    return tracks


def _draw_attributes(n_base: int, rng: np.random.Generator) -> pd.DataFrame:
    """The hidden musical attributes of ``n_base`` tracks: genre, era, vocals, mode, …"""
    shares = np.array([g["share"] for g in GENRES.values()])
    genre_idx = rng.choice(len(GENRES), size=n_base, p=shares / shares.sum())
    rows = []
    for i in range(n_base):
        name = GENRE_NAMES[genre_idx[i]]
        g = GENRES[name]
        era = ERAS[rng.choice(5, p=np.array(g["era"]) / sum(g["era"]))]
        vocals = VOCALS[rng.choice(3, p=np.array(g["vocals"]) / sum(g["vocals"]))]
        bpm = float(g["bpm"] * rng.uniform(0.9, 1.1))
        energy = float(np.clip((bpm - 60) / 130 + rng.normal(0, 0.15), 0, 1))
        qualities = {
            "beautiful": 0.10 + 0.25 * (name in ("ambient", "folk", "jazz")) + 0.1 * (energy < 0.35),
            "catchy": 0.12 + 0.15 * (name in ("pop", "house", "indie")),
            "sexy": 0.08 + 0.15 * (name in ("soul", "funk", "house")),
            "party": 0.08 + 0.15 * (name in ("house", "hiphop", "pop")),
        }
        rows.append(
            dict(
                genre=name,
                era=era,
                vocals=vocals,
                major=bool(rng.random() < g["major"]),
                acoustic=bool(rng.random() < g["acoustic"]),
                lead=_pick(rng, g["lead"]),
                drums=_pick(rng, g["drums"]),
                bpm=round(bpm, 2),
                energy=round(energy, 3),
                key=int(rng.integers(0, 12)),
                **{q: bool(rng.random() < p) for q, p in qualities.items()},
            )
        )
    return pd.DataFrame(rows)


def _add_duplicates(tracks: pd.DataFrame, n_duplicates: int, rng: np.random.Generator) -> pd.DataFrame:
    """Songs with two tracks: some tracks are re-releases of another track's song (same
    recording, same tags). They take ordinary slots, so the split sizes stay exact, and
    some land in another split than their original, as in the real MSD."""
    n_base = len(tracks)
    originals = rng.choice(n_base, size=n_duplicates, replace=False)
    copies = rng.choice(np.setdiff1d(np.arange(n_base), originals), size=n_duplicates, replace=False)
    hidden = [c for c in tracks.columns if c not in ("split",)]
    tracks.loc[copies, hidden] = tracks.loc[originals, hidden].to_numpy()
    duplicate_of = np.full(n_base, -1)
    duplicate_of[copies] = originals
    tracks["duplicate_of"] = duplicate_of
    return tracks


# --- tags ---------------------------------------------------------------------------


def _tag_strengths(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """P(tag truly applies) per track, from its hidden attributes."""
    a = _TrackArrays.of(t)
    s = {**_style_strengths(a), **_mood_strengths(a)}
    for e in ERAS:
        s[e] = (a.era == e).astype(float)
    for q in QUALITIES:
        s[q] = t[q].to_numpy().astype(float)
    return {tag: np.clip(s[tag], 0, 1) for tag in MSD_50_TAGS}


@dataclass(frozen=True)
class _TrackArrays:
    """The hidden attributes the tag strengths are written in, as arrays."""

    g: np.ndarray  # genre
    era: np.ndarray
    lead: np.ndarray
    drums: np.ndarray
    vocals: np.ndarray
    acoustic: np.ndarray
    low: np.ndarray  # low energy
    high: np.ndarray  # high energy
    major: np.ndarray

    @classmethod
    def of(cls, t: pd.DataFrame) -> _TrackArrays:
        energy = t["energy"].to_numpy()
        columns = ("genre", "era", "lead", "drums", "vocals", "acoustic")
        return cls(*(t[c].to_numpy() for c in columns), energy < 0.35, energy > 0.55, t["major"].to_numpy())

    def genre(self, **w: float) -> np.ndarray:
        return np.array([w.get(x, 0.0) for x in self.g])


def _style_strengths(a: _TrackArrays) -> dict[str, np.ndarray]:
    """Genre, scene and voice tags (the first half of the vocabulary's order)."""
    g, era, lead, low, high, genre = a.g, a.era, a.lead, a.low, a.high, a.genre
    female = a.vocals == "female"
    late = np.isin(era, ("90s", "00s"))
    guitar = np.isin(lead, ("dist_guitar", "clean_guitar", "pluck"))
    return {
        "rock": genre(rock=1, metal=0.7, punk=0.7, indie=0.6, blues=0.2, country=0.1, pop=0.15),
        "pop": genre(pop=1, indie=0.3, soul=0.2, house=0.1, electronic=0.15),
        "alternative": genre(indie=0.8, punk=0.3) + 0.5 * ((g == "rock") & late),
        "indie": genre(indie=1),
        "electronic": genre(electronic=1, house=0.8, ambient=0.4, hiphop=0.1)
        + 0.2 * ((g == "pop") & (lead == "synth")),
        "female vocalists": 0.9 * female,
        "dance": genre(house=0.9, funk=0.3)
        + 0.6 * ((g == "electronic") & high)
        + 0.5 * ((g == "pop") & (a.drums == "four")),
        "alternative rock": 0.5 * (g == "indie") + 0.4 * ((g == "rock") & late),
        "jazz": genre(jazz=1, soul=0.1, funk=0.1),
        "metal": genre(metal=1, punk=0.1),
        "chillout": 0.6 * (low & np.isin(g, ("ambient", "electronic", "jazz", "folk"))),
        "male vocalists": 0.8 * (a.vocals == "male"),
        "classic rock": 0.9 * ((g == "rock") & np.isin(era, ("60s", "70s"))) + 0.4 * ((g == "rock") & (era == "80s")),
        "soul": genre(soul=1, funk=0.4, blues=0.2),
        "indie rock": 0.7 * ((g == "indie") & guitar),
    }


def _mood_strengths(a: _TrackArrays) -> dict[str, np.ndarray]:
    """Mood, instrument and the remaining style tags."""
    g, era, lead, low, high, major, genre = a.g, a.era, a.lead, a.low, a.high, a.major, a.genre
    female = a.vocals == "female"
    late = np.isin(era, ("90s", "00s"))
    guitar = np.isin(lead, ("dist_guitar", "clean_guitar", "pluck"))
    rock_like = np.isin(g, ("rock", "indie"))
    return {
        "Mellow": 0.6 * low,
        "electronica": genre(electronic=0.6, ambient=0.4),
        "folk": genre(folk=1, country=0.3),
        "chill": 0.5 * low,
        "instrumental": 0.8 * (a.vocals == "none"),
        "punk": genre(punk=1),
        "oldies": 0.7 * (era == "60s") + 0.25 * (era == "70s"),
        "blues": genre(blues=1),
        "hard rock": 0.5 * (g == "metal") + 0.5 * (rock_like & (lead == "dist_guitar")),
        "ambient": genre(ambient=1),
        "acoustic": 0.8 * a.acoustic,
        "experimental": genre(ambient=0.3, electronic=0.2),
        "female vocalist": 0.5 * female,
        "guitar": 0.6 * guitar,
        "Hip-Hop": genre(hiphop=1),
        "country": genre(country=1),
        "easy listening": 0.4 * (low & np.isin(g, ("jazz", "soul", "pop"))),
        "funk": genre(funk=1),
        "electro": genre(electronic=0.5, house=0.3),
        "heavy metal": genre(metal=0.8),
        "Progressive rock": 0.25 * ((g == "rock") & (era == "70s")) + genre(metal=0.1),
        "rnb": 0.8 * ((g == "soul") & late) + genre(hiphop=0.3),
        "indie pop": 0.5 * ((g == "indie") & major) + 0.2 * ((g == "pop") & (era == "00s")),
        "sad": 0.7 * (~major & low) + 0.3 * (~major & ~low),
        "House": genre(house=1),
        "happy": 0.7 * (major & high),
    }


def _draw_lastfm_tags(tracks: pd.DataFrame, config: DemoWorldConfig, rng: np.random.Generator) -> pd.DataFrame:
    strengths = _tag_strengths(tracks)
    # A duplicate track carries its original's tags, as re-releases on Last.fm mostly do.
    source = np.where(tracks["duplicate_of"].to_numpy() >= 0, tracks["duplicate_of"].to_numpy(), np.arange(len(tracks)))
    untagged = rng.random(len(tracks)) < config.never_tagged_fraction
    ids: list[str] = []
    tags: list[str] = []
    weights: list[int] = []
    track_ids = tracks["track_id"].to_numpy()
    for tag in MSD_50_TAGS:
        given = (rng.random(len(tracks)) < strengths[tag] * TAG_OBSERVED[tag])[source] & ~untagged
        strong = rng.uniform(45, 100, size=len(tracks))
        spellings = SPELLINGS.get(tag, (tag,))
        for row in np.flatnonzero(given):
            ids.append(track_ids[row])
            tags.append(spellings[rng.integers(len(spellings))])
            weights.append(int(strong[row]))
    # Spurious vocabulary tags (mostly weak) and tags outside the vocabulary.
    for row in np.flatnonzero(~untagged):
        for _ in range(rng.poisson(config.spurious_rate)):
            ids.append(track_ids[row])
            tags.append(MSD_50_TAGS[rng.integers(len(MSD_50_TAGS))])
            weights.append(int(rng.triangular(0, 5, 75)))
        for _ in range(rng.poisson(0.7)):
            ids.append(track_ids[row])
            tags.append(OTHER_TAGS[rng.integers(len(OTHER_TAGS))])
            weights.append(int(rng.integers(0, 101)))
    frame = pd.DataFrame({"track_id": ids, "tag": tags, "weight": weights})
    # Last.fm keeps one weight per (track, exact spelling).
    return frame.drop_duplicates(["track_id", "tag"], ignore_index=True)


def _drop_tags(lastfm: pd.DataFrame, config: DemoWorldConfig) -> pd.DataFrame:
    """Drop a share ``tag_dropout`` of the vocabulary tag rows, with a generator of its own,
    so that the rest of the world (audio, listening) is drawn exactly as without it."""
    if config.tag_dropout <= 0:
        return lastfm
    rng = np.random.default_rng([config.seed, 1])
    from msd_tagging.readers import normalise_tag

    vocabulary = lastfm["tag"].map(normalise_tag).isin({normalise_tag(t) for t in MSD_50_TAGS})
    dropped = vocabulary.to_numpy() & (rng.random(len(lastfm)) < config.tag_dropout)
    return lastfm[~dropped].reset_index(drop=True)


def _hide_tags(
    lastfm: pd.DataFrame, tracks: pd.DataFrame, config: DemoWorldConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove every tag row of a share ``untagged_fraction`` of the split tracks that have
    tags, with a generator of its own (the rest of the world is drawn exactly as without
    it); the removed rows are returned apart, as the known answer for those tracks."""
    empty = lastfm.iloc[:0]
    if config.untagged_fraction <= 0:
        return lastfm, empty
    rng = np.random.default_rng([config.seed, 2])
    split = tracks.loc[tracks["split"] != "none", "track_id"]
    candidates = np.sort(split[split.isin(lastfm["track_id"])].to_numpy())
    chosen = rng.choice(candidates, size=int(round(config.untagged_fraction * len(candidates))), replace=False)
    hidden = lastfm["track_id"].isin(chosen).to_numpy()
    return lastfm[~hidden].reset_index(drop=True), lastfm[hidden].reset_index(drop=True)


# --- listening ----------------------------------------------------------------------


def _draw_listening(
    tracks: pd.DataFrame, config: DemoWorldConfig, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Listeners in scenes (era and taste) pick tracks; returns triplets and mismatches.

    The steps draw from ``rng`` in a fixed order; keep it, or every world changes.
    """
    # Plays are per song: a duplicate track shares its original's song, so only the
    # original tracks are the songs listeners choose from.
    songs = tracks[tracks["duplicate_of"] < 0].reset_index(drop=True)
    tastes = _draw_tastes(config, rng)
    popularity = rng.pareto(config.popularity_alpha, size=len(songs)) + 0.05
    log_pop = np.log(popularity)
    in_split = (songs["split"] != "none").to_numpy()
    cold = in_split & (rng.random(len(songs)) < config.cold_fraction)
    log_pop[cold] = -np.inf

    # Power-law activity: tracks per listener.
    u = rng.random(config.n_users)
    activity = np.floor(config.activity_min * (1 - u) ** (-1 / (config.activity_alpha - 1))).astype(int)
    activity = np.clip(activity, 1, min(config.activity_max, int((~cold).sum())))
    activity[rng.choice(config.n_users, size=max(1, config.n_users // 200), replace=False)] = 1

    # Some songs' plays really belong to another song: the wrong matches of
    # sid_mismatches.txt. Their track gets the plays of a random other song.
    n_bad = config.n_mismatches
    bad_rows = rng.choice(np.flatnonzero(~cold & (songs["flaw"].to_numpy() == "ok")), size=n_bad, replace=False)
    impostor = rng.choice(len(songs), size=n_bad, replace=False)
    accepted = np.zeros(n_bad, dtype=bool)
    accepted[: config.n_accepted] = True
    profile = np.arange(len(songs))
    profile[bad_rows[~accepted]] = impostor[~accepted]

    triplets = _draw_plays(songs, profile, log_pop, activity, tastes, config, rng)
    triplets = _repeat_some_rows(triplets, config.repeated_rows, rng)
    bad, other = songs.iloc[bad_rows], songs.iloc[impostor]
    mismatches = pd.DataFrame(
        {
            "song_id": bad["song_id"].to_numpy(),
            "track_id": bad["track_id"].to_numpy(),
            "artist": other["artist"].to_numpy(),
            "title": other["title"].to_numpy(),
            "accepted": accepted,
        }
    )
    return triplets, mismatches


def _draw_tastes(config: DemoWorldConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scenes (a favourite era or two, a few genres, a taste in qualities) and each
    listener's log-taste for era ``[users, 5]``, genre ``[users, genres]`` and qualities."""
    scene_era = rng.dirichlet(np.full(5, 0.3), size=config.n_scenes)
    scene_genre = rng.dirichlet(np.full(len(GENRE_NAMES), 0.25), size=config.n_scenes)
    scene_quality = rng.normal(0, 1, size=(config.n_scenes, len(QUALITIES)))
    scene_of_user = rng.choice(config.n_scenes, size=config.n_users, p=rng.dirichlet(np.full(config.n_scenes, 2.0)))
    user_era = np.log(scene_era[scene_of_user] + 0.02)
    user_genre = np.log(scene_genre[scene_of_user] + 0.02)
    user_quality = scene_quality[scene_of_user] + rng.normal(0, 0.5, size=(config.n_users, len(QUALITIES)))
    return user_era, user_genre, user_quality


def _draw_plays(
    songs: pd.DataFrame,
    profile: np.ndarray,
    log_pop: np.ndarray,
    activity: np.ndarray,
    tastes: tuple[np.ndarray, np.ndarray, np.ndarray],
    config: DemoWorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Each listener picks ``activity`` songs by popularity, scene taste and chance (Gumbel
    top-k) and plays each a Zipf number of times. ``profile[i]`` is whose attributes song
    ``i``'s plays follow (another song's, for a wrong match)."""
    user_era, user_genre, user_quality = tastes
    era_idx = songs["era"].map({e: i for i, e in enumerate(ERAS)}).to_numpy()
    genre_idx = songs["genre"].map({g: i for i, g in enumerate(GENRE_NAMES)}).to_numpy()
    quality = songs[list(QUALITIES)].to_numpy(dtype=float)
    users = ["".join(f"{b:02x}" for b in rng.bytes(20)) for _ in range(config.n_users)]
    song_ids = songs["song_id"].to_numpy()
    rows_user, rows_song, rows_count = [], [], []
    for start in range(0, config.n_users, 500):
        stop = min(start + 500, config.n_users)
        score = (
            log_pop[profile][None, :]
            + config.era_weight * user_era[start:stop][:, era_idx[profile]]
            + config.genre_weight * user_genre[start:stop][:, genre_idx[profile]]
            + config.quality_weight * (user_quality[start:stop] @ quality[profile].T) / len(QUALITIES)
        )
        score = score + rng.gumbel(size=score.shape)
        for k, row in enumerate(score):
            n = activity[start + k]
            chosen = np.argpartition(-row, n - 1)[:n]
            chosen = np.sort(chosen)
            counts = np.minimum(rng.zipf(2.2, size=n), 500)
            rows_user.extend([users[start + k]] * n)
            rows_song.extend(song_ids[chosen])
            rows_count.extend(counts)
    return pd.DataFrame(
        {"user_id": rows_user, "song_id": rows_song, "play_count": np.asarray(rows_count, dtype=np.int64)}
    )


def _repeat_some_rows(triplets: pd.DataFrame, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Logs merged from several sources repeat a (user, song): split a few counts in two."""
    repeat = rng.choice(np.flatnonzero(triplets["play_count"].to_numpy() >= 2), size=n_rows, replace=False)
    extra = triplets.iloc[repeat].copy()
    first = (extra["play_count"] // 2).to_numpy()
    triplets.loc[repeat, "play_count"] = triplets.loc[repeat, "play_count"].to_numpy() - first
    extra["play_count"] = first
    return pd.concat([triplets, extra]).sort_index(kind="stable").reset_index(drop=True)
