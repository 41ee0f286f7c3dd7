"""The project's parameter blocks: one frozen dataclass per top-level block of
``conf/base/parameters_<block>.yml``, built from its sub-blocks' classes.

Nodes take these as typed ``params:<block>`` inputs, so Kedro builds and checks every block
a pipeline reads before its first node runs (``msd_tagging.core.config``). A node takes a whole
top-level block, never a key inside one: Kedro then builds each block once, and no two
nodes ask for overlapping parts of one. The demo world's block is
:class:`msd_tagging.demo.world.DemoWorldConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from msd_tagging.audio.signal import DamageConfig, MelConfig
from msd_tagging.catalogue.splitting import SplitConfig
from msd_tagging.core.config import parameters, setting
from msd_tagging.core.errors import ParameterError
from msd_tagging.listening.centroids import MAX_DROP_FRACTION
from msd_tagging.listening.factorisation import EarlyStopping, Withhold
from msd_tagging.listening.factorisers import FACTORISERS, Factoriser, warp_available
from msd_tagging.models.configs import VGGConfig
from msd_tagging.models.training import TrainConfig

Split = Literal["train", "valid", "test"]
PRETRAINED_TAGGERS = ("msd_musicnn", "msd_vgg")  # the shipped taggers (msd_tagging.models.pretrained)

# --- ingestion ------------------------------------------------------------------------


@parameters("ingestion.vocabulary")
class VocabularyConfig:
    """Which tags the tagger learns from a catalogue's tags (``ingestion.vocabulary``).

    Attributes:
        top_n: the N tags with the most positive tracks (spelling variants merged).
        tags: a given list instead (its order is the output order); ``None``: the top N.
    """

    top_n: int = setting(50, minimum=1)
    tags: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.tags is not None and not self.tags:
            raise ParameterError("ingestion.vocabulary.tags", "give a non-empty list of tags, or null for the top N.")


@parameters("ingestion")
class IngestionParams:
    """Raw data to primary tables (``parameters_ingestion.yml``): what counts as a positive
    tag, and how much bad input is dropped and counted before the run stops instead."""

    source: str = "msd"  # msd (the MSD's files), tables (plain tables), or any module of pipelines/ingestion/sources
    # (not a closed list here: the session checks it against the sources found, msd_tagging.framework.session.for_source)
    n_train: int = setting(201_680, minimum=0)  # first IDs of filtered_list_train.cP that are training (MSD)
    tag_threshold: float = 50.0  # a tag is positive when its weight is above this
    tag_weight_max: float = setting(100.0, above=0.0)  # the top of the scale tag_threshold is on (Last.fm: 100)
    max_missing_audio_fraction: float = setting(0.05, minimum=0.0, maximum=1.0)
    max_bad_tag_rows_fraction: float = setting(0.01, minimum=0.0, maximum=1.0)
    max_unknown_id_fraction: float = setting(0.01, minimum=0.0, maximum=1.0)
    max_zero_play_fraction: float = setting(0.5, minimum=0.0, maximum=1.0)
    listen_repeats: Literal["auto", "drop", "keep"] = "auto"  # listens logged twice (same user, track, time)
    max_repeated_listen_fraction: float = setting(0.05, minimum=0.0, maximum=1.0)
    report_max_listed: int = setting(1000, minimum=0)  # IDs listed per reason in reports
    untagged: Literal["unlabelled", "negative"] = "negative"  # a catalogue track with no crowd tag at all:
    # unlabelled (kept out of training and evaluation, tagged) or a negative for every tag (the MSD's split)
    vocabulary: VocabularyConfig = setting(factory=VocabularyConfig)
    split: SplitConfig = setting(factory=SplitConfig)

    def __post_init__(self):
        if not self.tag_threshold < self.tag_weight_max:
            raise ParameterError(
                "ingestion.tag_threshold",
                f"{self.tag_threshold:g} is not below ingestion.tag_weight_max={self.tag_weight_max:g}: no tag "
                "could be positive.",
                fix="put the threshold on the weights' scale (Last.fm's run 0-100; 50 by default).",
            )


# --- audio ----------------------------------------------------------------------------


@parameters("audio.extraction")
class ExtractionConfig:
    tracks_per_shard: int = setting(256, minimum=1)
    workers: int = setting(0, minimum=0)  # local processes; 0 = one per core


@parameters("audio.scoring")
class AudioScoringConfig:
    tracks_per_task: int = setting(2000, minimum=1)  # tracks scored per pass (bounds memory), and per Dask task


@parameters("audio.head")
class HeadParams:
    """A head on a pretrained model's embeddings (``audio.model_source: head``), trained on
    the run's training split in the run's vocabulary; the kind with the best validation
    criterion is kept."""

    embedding: Literal["msd_musicnn", "msd_vgg"] = "msd_musicnn"  # whose embedding it reads
    kinds: tuple[Literal["logistic", "mlp"], ...] = ("logistic", "mlp")
    cs: tuple[float, ...] = setting((0.01, 0.1, 1.0), above=0.0)  # logistic: inverse L2 strengths tried
    hidden: int = setting(256, minimum=1)  # mlp: hidden units
    dropout: float = setting(0.3, minimum=0.0, maximum=0.9)
    lr: float = setting(1e-3, above=0.0)
    weight_decay: float = setting(1e-4, minimum=0.0)
    batch_size: int = setting(128, minimum=1)
    max_epochs: int = setting(200, minimum=1)
    patience: int = setting(10, minimum=1)  # epochs without a better validation criterion before stopping
    seed: int = setting(0, minimum=0)
    threads: int = setting(1, minimum=0)  # torch threads for the mlp; 1: bit-reproducible, 0: torch's default

    def __post_init__(self):
        if not self.kinds:
            raise ParameterError("audio.head.kinds", "is empty.", fix="give logistic, mlp or both.")


@parameters("audio.embeddings")
class EmbeddingParams:
    """The embedding store (``embed_tracks``): each track's pooled pretrained embedding."""

    model: Literal["auto", "none", "msd_musicnn", "msd_vgg"] = "auto"  # auto: the head's when model_source
    # is head, else none (nothing computed)
    with_std: bool = False  # also store the patches' standard deviation after the mean
    tracks_per_shard: int = setting(512, minimum=1)


@parameters("audio")
class AudioParams:
    """The audio side (``parameters_audio.yml``): log-mel front end, damage rules,
    extraction, the network and its training, scoring."""

    mel: MelConfig = setting(factory=MelConfig)
    damage: DamageConfig = setting(factory=DamageConfig)
    extraction: ExtractionConfig = setting(factory=ExtractionConfig)
    dask_scheduler: str | None = None  # a Dask scheduler address: extraction and scoring run there
    model_source: Literal["train", "msd_musicnn", "msd_vgg", "head"] = "train"
    scoring: AudioScoringConfig = setting(factory=AudioScoringConfig)
    head: HeadParams = setting(factory=HeadParams)
    embeddings: EmbeddingParams = setting(factory=EmbeddingParams)
    architecture: str = "vgg"  # what train_tagger trains: a trainable entry of msd_tagging.models.registry
    model: Any = setting(factory=VGGConfig)  # that architecture's shape (its config block)
    train: TrainConfig = setting(factory=TrainConfig)

    def __post_init__(self):
        from msd_tagging.models.registry import ARCHITECTURES, make_config

        if self.dask_scheduler is not None and not self.dask_scheduler.strip():
            raise ParameterError("audio.dask_scheduler", "is empty.", fix="give tcp://host:8786, or null for none.")
        trainable = [name for name, a in ARCHITECTURES.items() if a.trainable]
        if self.architecture not in trainable:
            raise ParameterError(
                "audio.architecture", f"{self.architecture!r} is not one of {', '.join(map(repr, trainable))}."
            )
        if not isinstance(self.model, Mapping | ARCHITECTURES[self.architecture].config):
            raise ParameterError("audio.model", f"expected a block of settings, found {self.model!r}.")
        object.__setattr__(self, "model", make_config(self.architecture, self.model))
        if self.model_source == "head" and self.embeddings.model not in ("auto", self.head.embedding):
            raise ParameterError(
                "audio.embeddings.model",
                f"is {self.embeddings.model!r}, but the head reads {self.head.embedding!r} embeddings.",
                fix="leave audio.embeddings.model at auto, or set it to audio.head.embedding.",
            )

    @property
    def embedding_model(self) -> str | None:
        """The pretrained model whose embeddings the run stores (None: none are computed)."""
        if self.embeddings.model == "auto":
            return self.head.embedding if self.model_source == "head" else None
        return None if self.embeddings.model == "none" else self.embeddings.model


# --- listening ------------------------------------------------------------------------


@parameters("listening.from_audio")
class FromAudioParams:
    """Listening for unplayed tracks (``listening.from_audio``): a network from the run's
    audio embedding to the factoriser's vector, trained on warm training tracks, one per
    loss, each with early stopping on the warm validation tracks' mean cosine
    (:mod:`msd_tagging.listening.from_audio`)."""

    losses: tuple[Literal["cosine", "infonce"], ...] = ("cosine", "infonce")
    hidden: int = setting(256, minimum=0)  # 0: linear
    temperature: float = setting(0.1, above=0.0)  # infonce only
    lr: float = setting(1e-3, above=0.0)
    weight_decay: float = setting(1e-4, minimum=0.0)
    batch_size: int = setting(256, minimum=2)
    max_epochs: int = setting(200, minimum=1)
    patience: int = setting(10, minimum=1)
    recall_sample: int = setting(2000, minimum=10)  # validation tracks the reported recall@10 ranks among
    seed: int = setting(0, minimum=0)
    threads: int = setting(1, minimum=0)  # torch threads; 1: bit-reproducible, 0: torch's default

    def __post_init__(self):
        if not self.losses:
            raise ParameterError("listening.from_audio.losses", "is empty.", fix="give cosine, infonce or both.")


@parameters("listening", blocks={name: f.config for name, f in FACTORISERS.items()})
class ListeningParams:
    """The listening side (``parameters_listening.yml``): the factorisation of plays
    (``model``, one of :data:`~msd_tagging.listening.factorisers.FACTORISERS`, with its own
    block of settings beside) and the MF-centroids built on it."""

    model: str = "bpr"  # which factoriser: its settings are the block of the same name (listening.bpr, ...)
    weighting: Literal["binary", "log1p", "raw"] = "log1p"
    early_stopping: EarlyStopping = setting(factory=EarlyStopping)
    use_bias: bool = False  # include the factoriser's item-bias column in the centroid cosine
    drop_fraction: float = setting(0.0, minimum=0.0, maximum=MAX_DROP_FRACTION)
    top_n: int = setting(50, minimum=1)  # training tracks per tag averaged into its centroid
    calibration: Literal["platt", "audio_quantiles", "cosine"] = "platt"
    platt_c: float = setting(1.0, above=0.0)
    from_audio: FromAudioParams = setting(factory=FromAudioParams)
    withhold: Withhold = setting(factory=Withhold)

    def __post_init__(self):
        if self.model not in FACTORISERS:
            raise ParameterError(
                "listening.model", f"{self.model!r} is not one of {', '.join(map(repr, FACTORISERS))}."
            )
        extra = FACTORISERS[self.model].extra
        if extra == "warp" and not warp_available():
            raise ParameterError(
                "listening.model",
                "warp needs LightFM, which the warp extra installs (rectools-lightfm, a maintained build).",
                fix='pip install -e ".[warp]" (it builds from source in about 20 s), or choose bpr, als or lmf.',
            )
        if self.use_bias and not FACTORISERS[self.model].bias:
            raise ParameterError(
                "listening.use_bias", f"{self.model} has no item bias.", fix="set listening.use_bias: false."
            )

    @property
    def factoriser(self) -> Factoriser:
        return FACTORISERS[self.model]

    @property
    def factoriser_config(self):
        """The chosen factoriser's settings (``listening.<model>``)."""
        return getattr(self, self.model)


# --- scoring, evaluation, reporting, figures -------------------------------------------


@parameters("scoring.classifier")
class ClassifierConfig:
    cs: tuple[float, ...] = setting((0.001, 0.01, 0.1), above=0.0)  # inverse L2 strengths tried on validation
    seed: int = setting(0, minimum=0)

    def __post_init__(self):
        if not self.cs:
            raise ParameterError("scoring.classifier.cs", "is empty.", fix="give at least one strength, e.g. [0.01].")


@parameters("scoring.fusion")
class FusionConfig:
    grid_step: float = setting(0.05, above=0.0, maximum=1.0)  # listening weights tried: 0, step, ..., 1
    shrinkage: float = setting(10.0, minimum=0.0)  # per-tag weight shrunk toward the global one


@parameters("scoring")
class ScoringParams:
    """The scorers beyond the paper (``parameters_scoring.yml``)."""

    classifier: ClassifierConfig = setting(factory=ClassifierConfig)
    fusion: FusionConfig = setting(factory=FusionConfig)


@parameters("evaluation.bootstrap")
class BootstrapConfig:
    """The paired bootstrap over the evaluated tracks (one resampling shared by every scorer)."""

    samples: int = setting(1000, minimum=0)  # resamples; 0: no intervals
    seed: int = setting(0, minimum=0)
    confidence: float = setting(0.95, above=0.0, maximum=0.999)


@parameters("evaluation")
class EvaluationParams:
    split: Split = "test"
    bootstrap: BootstrapConfig = setting(factory=BootstrapConfig)


@parameters("reporting.cold_start")
class ColdStartConfig:
    split: Split = "test"
    popularity_edges: tuple[float, ...] = setting((0.0, 1.0, 20.0, 100.0, 400.0), minimum=0.0)

    def __post_init__(self):
        edges = self.popularity_edges
        if not edges or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ParameterError(
                "reporting.cold_start.popularity_edges",
                f"{list(edges)} must start at 0 (the cold bin) and increase.",
                fix="e.g. [0, 1, 20, 100, 400].",
            )


@parameters("reporting.playlists")
class PlaylistsConfig:
    tags: tuple[str, ...] = ("Hip-Hop", "jazz", "80s", "00s", "party")
    length: int = setting(15, minimum=1)


@parameters("reporting")
class ReportingParams:
    cold_start: ColdStartConfig = setting(factory=ColdStartConfig)
    playlists: PlaylistsConfig = setting(factory=PlaylistsConfig)


@parameters("figures.tsne")
class TSNEConfig:
    sample_size: int = setting(5000, minimum=2)  # tracks embedded at most (a seeded sample above this)
    perplexity: float = setting(30.0, above=0.0)
    seed: int = setting(0, minimum=0)
    n_jobs: int = setting(0, minimum=0)  # 0 = all cores


@parameters("figures.agreement")
class AgreementConfig:
    k: int = setting(10, minimum=1)  # neighbours in MF space
    queries: int = setting(1000, minimum=2)  # tagged tracks queried per tag (a seeded sample when more)
    bootstrap: int = setting(1000, minimum=0)  # resamples of the queries for each share's interval
    memory_mb: int = setting(512, minimum=1)  # neighbour search in blocks of about this size
    seed: int = setting(0, minimum=0)
    highlight_tag: str = "Hip-Hop"
    grid_tags: tuple[str, ...] = ()


@parameters("figures")
class FiguresParams:
    """Figure 1 and what every figure says about its data (``parameters_figures.yml``).

    Attributes:
        note: said at the foot of every figure when not empty (the rehearsal world's
            ``conf/scale`` says its plays and tags are random, so curves at chance and
            shapeless pictures are what to expect there).
    """

    note: str = ""
    highlight_tag: str = "Hip-Hop"
    grid_tags: tuple[str, ...] = ("Hip-Hop", "metal", "jazz", "country", "00s", "80s")
    tsne: TSNEConfig = setting(factory=TSNEConfig)
    agreement: AgreementConfig = setting(factory=AgreementConfig)


# --- tagging -----------------------------------------------------------------------------


@parameters("tagging")
class TaggingParams:
    """The tagged catalogue (``parameters_tagging.yml``): which scorer tags which tracks,
    the decision rule, and what the report shows (:mod:`msd_tagging.catalogue.decisions`).

    Attributes:
        threshold: the decision rule. ``certified``: per evidence class, decisions whose
            precision is at least ``target_precision`` with confidence ``1 - delta``
            (Learn-Then-Test), each decided tag showing lift and its own precision;
            ``f1``: each tag's F1-optimal threshold, which carries no precision promise.
        target_precision, delta: the promise: precision at least the target, with
            confidence ``1 - delta``.
        margin: the fixed sequence starts where a precision this far above the target
            could be certified (a smaller margin: a later start). Chosen on the
            selection worlds: among the margins with no world below the target beyond
            sampling noise, and no decided tags' probability off their precision by more
            than 0.05 beyond noise, the one with the most correct decisions.
        tag_check: what each decided tag's own out-of-fold precision (shrunk toward its
            class's) must bring to the target: its ``mean`` (the class's pooled bound
            carries the confidence), or its ``lower`` bound at ``1 - delta`` (stricter:
            few tags of a small catalogue pass).
        calibrate_by: the second stage of the calibration (rank to probability) per
            group of tags: the decided tags and the others, each group's steps fitted on
            ``held_out`` pairs (in each fold, the tags chosen on the other folds), or on
            the ``decided`` tags' own pairs (over-promises a little: they were chosen on
            the same labels), or one for the whole ``class`` (under-promises the decided
            tags). Chosen on the selection worlds (benchmarks/results/tag_completion_selection.md).
        folds: the folds of the out-of-fold estimates.
        min_positives: the ``f1`` rule fits a tag's threshold on at least this many
            labelled positives.
    """

    threshold: Literal["certified", "f1"] = "certified"
    target_precision: float = setting(0.7, above=0.0, maximum=0.99)
    delta: float = setting(0.1, above=0.0, maximum=0.5)
    margin: float = setting(0.05, above=0.0, maximum=0.5)
    tag_check: Literal["mean", "lower"] = "mean"
    calibrate_by: Literal["held_out", "decided", "class"] = "held_out"
    folds: int = setting(5, minimum=2)
    min_positives: int = setting(5, minimum=1)
    top_k: int = setting(5, minimum=1)  # tags per track in catalogue_top_tags.csv
    suggestions_per_track: int = setting(10, minimum=1)  # at most, in the tag_suggestions.csv queue
    figure_tags: tuple[str, ...] = ("Hip-Hop", "jazz", "80s", "00s")  # precision-recall curves in the report
    examples: int = setting(8, minimum=0)  # untagged tracks shown with their decided tags
    seed: int = setting(0, minimum=0)  # the folds, the prediction intervals' draws and the examples

    def __post_init__(self):
        if self.target_precision + self.margin >= 1.0:
            raise ParameterError(
                "tagging.margin",
                f"{self.margin:g} above tagging.target_precision={self.target_precision:g} reaches 1: nothing could "
                "be certified.",
                fix="lower the margin (0.05 by default) or the target.",
            )

    @property
    def rule(self):
        """The settings :mod:`msd_tagging.catalogue.decisions` fits with."""
        from msd_tagging.catalogue.decisions import RuleSettings

        return RuleSettings(
            rule=self.threshold,
            target=self.target_precision,
            delta=self.delta,
            margin=self.margin,
            tag_check=self.tag_check,
            calibrate_by=self.calibrate_by,
            folds=self.folds,
            seed=self.seed,
            min_positives=self.min_positives,
        )


# --- tag_audio ------------------------------------------------------------------------

GLOB_CHARACTERS = set("*?[")
# On the command line a bare * starts a YAML alias, so a quoted glob must survive the shell.
PATTERN_FIX = (
    "give bare extensions (--params=tag_audio.pattern=wav, or 'wav|flac'), or a glob inside two "
    "levels of quotes: --params='tag_audio.pattern=\"*.wav\"'"
)


@parameters("tag_audio")
class TagAudioParams:
    """Settings of ``tag_audio`` (``parameters_tag_audio.yml``)."""

    input_dir: str
    model: Literal["msd_musicnn", "msd_vgg", "run", "trained"] = "msd_musicnn"  # pretrained on the MSD, or the
    # run's own audio model in its vocabulary (run; trained: the old name)
    embeddings: bool = False  # also write each file's penultimate-layer embedding (pretrained models)
    pattern: str = "*.mp3"  # a glob, or bare extensions: "wav", "mp3|flac"
    recursive: bool = True
    limit: int | None = setting(None, minimum=1)  # tag at most this many files (sorted by path); None: all
    expected_seconds: float = setting(0.0, minimum=0.0)  # nominal length for truncation checks; 0: trust headers
    max_seconds: float | None = setting(None, above=0.0)  # tag at most this many seconds of each file; None: all
    top_k: int = setting(5, minimum=1)  # tags per file in the CSV
    batch_files: int = setting(64, minimum=1)  # files decoded before each model pass (bounds memory)
    batch_seconds: float = setting(1800.0, above=0.0)  # or this much decoded audio, whichever comes first
    report_max_listed: int = setting(1000, minimum=0)
    heartbeat_seconds: float = setting(30.0, above=0.0)  # outside a terminal, a progress line this often

    def __post_init__(self):
        if self.embeddings and self.model in ("run", "trained"):
            raise ParameterError(
                "tag_audio.embeddings",
                "embeddings come from the pretrained taggers only.",
                fix="set tag_audio.model to msd_musicnn or msd_vgg, or tag_audio.embeddings: false",
            )
        if not self.pattern.strip():
            raise ParameterError("tag_audio.pattern", f"{self.pattern!r} is not a file pattern.", fix=PATTERN_FIX)

    @property
    def globs(self) -> list[str]:
        """The patterns to match: the glob itself, or ``*.<ext>`` for each bare extension."""
        if GLOB_CHARACTERS & set(self.pattern):
            return [self.pattern]
        return [f"*.{ext.strip().lstrip('.')}" for ext in self.pattern.split("|") if ext.strip()]
