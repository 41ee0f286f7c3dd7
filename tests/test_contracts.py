"""Contract suites, one over every registered variant (as implicit runs one test mixin
over every model): every declared scorer, every network architecture. The factorisers'
suite is in ``test_listening.py``. And the scoring → evaluation → reporting stages run as
one sub-pipeline on small fixture tables, through Kedro's runner, in seconds."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from msd_tagging.core.mapping import IdMaps
from msd_tagging.models.registry import ARCHITECTURES, build, make_config, model_record
from msd_tagging.models.tagger import Tagger
from msd_tagging.params import (
    EvaluationParams,
    FiguresParams,
    ListeningParams,
    ReportingParams,
    ScoringParams,
)
from msd_tagging.scoring.scorers import SCORERS

TAGS = ["rock", "jazz", "80s"]
N = {"train": 90, "valid": 30, "test": 30}


def _world(seed: int = 0) -> dict:
    """Tracks whose listening vectors and audio scores both know their tags (the audio a
    little, the vectors more): every scorer has something to learn."""
    rng = np.random.default_rng(seed)
    splits = [s for s, n in N.items() for _ in range(n)]
    ids = [f"T{i:03d}" for i in range(len(splits))]
    labels = (rng.random((len(ids), len(TAGS))) < 0.3).astype(np.uint8)
    vectors = rng.normal(0, 0.3, (len(ids), 8)) + labels @ rng.normal(0, 1, (len(TAGS), 8))
    from_audio = [
        pd.DataFrame(0.6 * vectors + rng.normal(0, 0.6, vectors.shape), columns=[f"f{j:03d}" for j in range(8)])
        .assign(bias=0.0)
        .pipe(
            lambda f, loss=loss: (
                f.insert(0, "loss", loss) or f.insert(0, "cold", False) or f.insert(0, "track_id", ids) or f
            )
        )
        for loss in ("cosine", "infonce")
    ]  # every track with audio, the cold ones too: predicted from audio, not from plays
    vectors[-3:] = np.nan  # three cold test tracks
    audio = np.clip(0.5 * labels + rng.uniform(0, 0.5, labels.shape), 0, 1)
    track_vectors = pd.DataFrame(vectors, columns=[f"f{j:03d}" for j in range(8)]).assign(bias=0.0)
    track_vectors.insert(0, "cold", np.isnan(vectors[:, 0]))
    track_vectors.insert(0, "track_id", ids)
    frame = {"track_id": ids, **{t: labels[:, j] for j, t in enumerate(TAGS)}}
    plays_rows = [(u, i, 1 + u % 3) for i in range(len(ids) - 3) for u in range(i % 7, 40, 7)]
    return {
        "tracks": pd.DataFrame({"track_id": ids, "split": splits}),
        "tag_labels": pd.DataFrame(frame),
        "track_vectors": track_vectors,
        "predicted_vectors": pd.concat(from_audio, ignore_index=True),
        "audio_scores": pd.DataFrame({"track_id": ids, **{t: audio[:, j] for j, t in enumerate(TAGS)}}),
        "plays": pd.DataFrame(plays_rows, columns=["user_idx", "track_idx", "play_count"]),
        "id_maps": IdMaps.build(users=[f"u{u}" for u in range(40)], tracks=ids),
        "track_metadata": pd.DataFrame({"track_id": ids, "artist": "A", "title": "t"}),
        "params:listening": ListeningParams(top_n=10, calibration="platt"),
        "params:scoring": ScoringParams(classifier={"cs": [0.1, 1.0]}, fusion={"grid_step": 0.25}),
        "params:evaluation": EvaluationParams(split="test"),
        "params:reporting": ReportingParams(playlists={"tags": ["rock"], "length": 5}, cold_start={"popularity_edges": [0, 1, 10]}),
        "params:figures": FiguresParams(
            highlight_tag="rock", grid_tags=["rock", "jazz"], tsne={"sample_size": 60, "perplexity": 5},
            agreement={"highlight_tag": "rock", "grid_tags": ["rock"], "k": 3},
        ),
    }  # fmt: skip


def _score_every_scorer(world: dict) -> dict[str, pd.DataFrame]:
    """Each declared scorer's function on the world, in declaration order (later scorers
    read earlier ones' scores)."""
    data = dict(world)
    out = {}
    for scorer in SCORERS:
        if scorer.function is None:
            continue
        result = scorer.function(*[data[name] for name in scorer.inputs])
        scores = result[0] if isinstance(result, tuple) else result
        data[f"{scorer.name}_scores"] = scores
        out[scorer.name] = scores
    return out


@pytest.fixture(scope="module")
def scored() -> tuple[dict, dict]:
    world = _world()
    return world, _score_every_scorer(world)


@pytest.mark.parametrize("name", [s.name for s in SCORERS if s.function is not None])
def test_every_scorer_writes_a_score_table(scored, name):
    world, tables = scored
    scores = tables[name]
    assert list(scores.columns) == ["track_id", *TAGS]  # track_id first, then the vocabulary in order
    assert scores["track_id"].is_unique and set(scores["track_id"]) <= set(world["tracks"]["track_id"])
    values = scores[TAGS].to_numpy(dtype=float)
    assert np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0
    listening_only = next(s for s in SCORERS if s.name == name).kind == "listening"
    cold = world["track_vectors"].loc[world["track_vectors"]["cold"], "track_id"]
    assert scores["track_id"].isin(cold).any() != listening_only  # listening scores skip cold tracks


@pytest.mark.parametrize("name", [s.name for s in SCORERS if s.function is not None])
def test_no_scorer_reads_a_test_label(scored, name):
    """Scrambled test labels change no score: test labels are for the tables only."""
    world, tables = scored
    labels = world["tag_labels"].copy()
    test = (world["tracks"]["split"] == "test").to_numpy()
    labels.loc[test, TAGS] = 1 - labels.loc[test, TAGS]
    again = _score_every_scorer({**world, "tag_labels": labels})
    pd.testing.assert_frame_equal(again[name], tables[name])


# --- every architecture ------------------------------------------------------------------

SMALL_SHAPES = {
    "vgg": {"n_mels": 16, "n_tags": 3, "channels": [4, 8], "pools": [[2, 2], [2, 2]]},
    "musicnn_vgg": {"n_mels": 96, "n_frames": 187, "n_tags": 3, "filters": 8},
    "musicnn": {"n_mels": 96, "n_tags": 3, "timbral_filters": 8, "temporal_filters": 4, "midend_filters": 8,
                "backend_units": 16},
    "head": {"input_dim": 6, "n_tags": 3, "hidden": 4},
}  # fmt: skip
ON_LOG_MELS = sorted(name for name, kind in ARCHITECTURES.items() if kind.layout != "embedding")


def test_every_architecture_has_small_test_shapes():
    assert set(SMALL_SHAPES) == set(ARCHITECTURES)


@pytest.mark.parametrize("name", sorted(set(ARCHITECTURES) - set(ON_LOG_MELS)))
def test_every_head_returns_logits_and_an_embedding_and_round_trips(name):
    """A network on stored embeddings: saved as a record, loaded back safely, it scores
    embeddings as the network does (and reads only the mean part of a mean+std row)."""
    config = make_config(name, SMALL_SHAPES[name])
    torch.manual_seed(0)
    network = build(name, config).eval()
    rows = np.random.default_rng(0).normal(size=(5, 2 * config.input_dim)).astype(np.float32)
    with torch.no_grad():
        logits, embedding = network(torch.from_numpy(rows[:, : config.input_dim]))
    assert logits.shape == (5, 3) and embedding.ndim == 2 and embedding.shape[0] == 5
    preprocessing = {"sample_rate": 16000, "n_mels": 96, "patch_frames": 187}  # its base network's
    record = model_record(name, config, network.state_dict(), ["a", "b", "c"], preprocessing, {"source": "test"})
    buffer = io.BytesIO()
    torch.save(record, buffer)
    buffer.seek(0)
    tagger = Tagger.load(torch.load(buffer, weights_only=True), "cpu")
    probabilities, used = tagger.predict_from_embeddings(rows)
    assert used.shape == (5, config.input_dim)
    assert probabilities == pytest.approx(torch.sigmoid(logits).numpy(), abs=1e-6)


@pytest.mark.parametrize("name", ON_LOG_MELS)
def test_every_architecture_returns_logits_and_an_embedding_and_round_trips(name):
    kind = ARCHITECTURES[name]
    config = make_config(name, SMALL_SHAPES[name])
    torch.manual_seed(0)
    network = build(name, config).eval()
    frames = getattr(config, "n_frames", 60)
    window = (2, config.n_mels, frames) if kind.layout == "mels_frames" else (2, frames, config.n_mels)
    with torch.no_grad():
        logits, embedding = network(torch.randn(*window))
    assert logits.shape == (2, 3) and embedding.ndim == 2 and embedding.shape[0] == 2
    # Saved as a record, loaded back safely (plain tensors and data only), it scores the same.
    preprocessing = {"sample_rate": 16000, "n_mels": config.n_mels, "patch_frames": frames}
    record = model_record(name, config, network.state_dict(), ["a", "b", "c"], preprocessing, {"source": "test"})
    buffer = io.BytesIO()
    torch.save(record, buffer)
    buffer.seek(0)
    tagger = Tagger.load(torch.load(buffer, weights_only=True), "cpu")
    clips = [np.random.default_rng(i).normal(size=(config.n_mels, frames * 2)).astype(np.float32) for i in range(3)]
    probabilities, embeddings = tagger.predict_and_embed(clips)
    assert probabilities.shape == (3, 3) and embeddings.shape == (3, embedding.shape[1])
    assert ((probabilities > 0) & (probabilities < 1)).all()
    # A clip two windows long is scored as the mean of its two windows, cut either way.
    halves = [clips[0][:, :frames], clips[0][:, frames:]]
    if kind.layout == "frames_mels":
        halves = [h.T for h in halves]
    with torch.no_grad():
        batch = torch.from_numpy(np.ascontiguousarray(np.stack(halves)))
        expected = torch.sigmoid(network(batch)[0]).numpy().mean(axis=0)
    assert probabilities[0] == pytest.approx(expected, abs=1e-5)


# --- scoring -> evaluation -> reporting, as one sub-pipeline --------------------------


def test_scoring_evaluation_and_reporting_run_as_one_sub_pipeline():
    """The three stages after the audio and listening sides, wired by the registry, on
    fixture tables in an in-memory catalog (with the tagged catalogue's choice of scorer,
    which the extended table's headline is): every scorer is scored, evaluated and tabled."""
    from msd_tagging.pipeline_registry import build_pipelines

    pipelines = build_pipelines()
    chooser = pipelines["tagging"].only_nodes("track_evidence", "choose_scorers")  # the headline fused scorer
    pipeline = pipelines["scoring"] + pipelines["evaluation"] + pipelines["reporting"] + chooser
    world = _world()
    catalog = DataCatalog({name: MemoryDataset(value, copy_mode="assign") for name, value in world.items()})
    missing = pipeline.inputs() - set(world)
    assert missing == set()
    outputs = SequentialRunner().run(pipeline, catalog)
    table_1 = catalog.load("table_1") if "table_1" in catalog else outputs["table_1"].load()
    assert table_1["method"].tolist() == ["VGG (audio)", "MF-centroids", "Hybrid"]
    assert table_1[["roc_auc", "pr_auc"]].apply(lambda c: c.between(0, 1)).all().all()
    extended = catalog.load("extended_table") if "extended_table" in catalog else outputs["extended_table"].load()
    assert extended["scorer"].tolist() == [s.name for s in SCORERS]


def test_an_ingestion_source_is_one_module_and_ingestion_source_accepts_it():
    """docs/extending.md, "Adding an ingestion source": a throwaway module beside msd.py and
    tables.py is discovered by its SOURCE, and ingestion.source accepts it with no other edit
    (it was a closed Literal); a name no module declares is refused by the session, naming
    the sources it found."""
    import importlib
    import sys
    from pathlib import Path

    from msd_tagging.core.errors import ParameterError
    from msd_tagging.params import IngestionParams

    sources = importlib.import_module("msd_tagging.pipelines.ingestion.sources")
    module = Path(sources.__file__).with_name("zz_throwaway.py")
    module.write_text(
        'SOURCE = "throwaway"\nROLES = {"tag_rows": "t", "audio_index": "a", "tag_list": "l"}\n\n\n'
        "def create_pipeline():\n    from kedro.pipeline import Pipeline\n\n    return Pipeline([])\n"
    )
    try:
        importlib.invalidate_caches()
        assert set(sources.discover()) == {"msd", "tables", "throwaway"}
        assert IngestionParams(source="throwaway").source == "throwaway"
    finally:
        module.unlink()
        sys.modules.pop(f"{sources.__name__}.zz_throwaway", None)
        importlib.invalidate_caches()
    assert set(sources.discover()) == {"msd", "tables"}
    from msd_tagging.framework.session import for_source

    with pytest.raises(ParameterError, match="'nope' names no ingestion source; the sources read 'msd', 'tables'"):
        for_source("hybrid", IngestionParams(source="nope").source, ["hybrid.msd", "hybrid.tables"])


# --- docs/extending.md's walk-throughs, each with a throwaway entry ---------------------


def listening_mix(centroid_scores: pd.DataFrame, classifier_scores: pd.DataFrame) -> pd.DataFrame:
    """docs/extending.md's example scorer: two listening scorers mixed 70 / 30."""
    from msd_tagging.scoring.scores import fuse

    return fuse(centroid_scores, classifier_scores, 0.3)


class _Kept(MemoryDataset):
    """Kept after the run, for the test to read (the runner releases what no node needs)."""

    def _release(self) -> None:
        pass


def test_a_scorer_is_its_function_and_one_declaration():
    """ "Adding a scorer": the walk-through's declaration, passed to the registry, gets a score
    table, metrics and a row of the extended table, with no other edit."""
    from msd_tagging.pipeline_registry import build_pipelines
    from msd_tagging.scoring.scorers import Scorer

    mix = Scorer(
        "listening_mix", "0.7 · MF-centroids + 0.3 · MF classifier", listening_mix,
        ("mf_scores", "mf_classifier_scores"), kind="listening",
    )  # fmt: skip
    declared = (*SCORERS, mix)
    pipelines = build_pipelines(declared)
    chooser = pipelines["tagging"].only_nodes("track_evidence", "choose_scorers")
    pipeline = pipelines["scoring"] + pipelines["evaluation"] + pipelines["reporting"] + chooser
    kept = ("listening_mix_scores", "listening_mix_metrics", "mf_scores", "mf_classifier_scores", "extended_table")
    world = _world()
    catalog = DataCatalog(
        {name: MemoryDataset(value, copy_mode="assign") for name, value in world.items()}
        | {name: _Kept(copy_mode="assign") for name in kept}
    )
    SequentialRunner().run(pipeline, catalog)
    scores = catalog.load("listening_mix_scores")
    expected = listening_mix(catalog.load("mf_scores"), catalog.load("mf_classifier_scores"))
    pd.testing.assert_frame_equal(scores, expected)
    assert 0.5 < catalog.load("listening_mix_metrics")["roc_auc_macro"] <= 1
    assert catalog.load("extended_table")["scorer"].tolist() == [s.name for s in declared]


def _tiny_config():
    from dataclasses import asdict

    from msd_tagging.core.config import parameters, setting

    @parameters("audio.model")
    class Tiny:
        n_mels: int = setting(16, minimum=1)
        n_tags: int = setting(2, minimum=1)

        def as_dict(self) -> dict:
            return asdict(self)

    return Tiny


TINY = _tiny_config()


class TinyNet(torch.nn.Module):
    """A throwaway network: mean over time, one linear layer; ``(logits, embedding)``."""

    def __init__(self, config):
        super().__init__()
        self.head = torch.nn.Linear(config.n_mels, config.n_tags)

    def forward(self, x):
        embedding = x.mean(dim=2)
        return self.head(embedding), embedding


def test_an_architecture_is_its_module_and_one_registry_entry(monkeypatch):
    """ "Adding an architecture": a throwaway entry is accepted by ``audio.architecture``,
    trained by the one training loop, saved as a record and scored by the Tagger, with no
    other edit; a trainable entry that does not read log-mel windows is refused."""
    from msd_tagging.models import registry
    from msd_tagging.models.training import TrainConfig, train
    from msd_tagging.params import AudioParams

    monkeypatch.setitem(
        registry.ARCHITECTURES, "tiny", registry.Architecture(f"{__name__}:TinyNet", TINY, trainable=True)
    )
    params = AudioParams(architecture="tiny", model={"n_mels": 16, "n_tags": 2})
    assert isinstance(params.model, TINY)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(120, 2))
    clips = [
        rng.normal(0, 0.3, (16, 40)).astype(np.float32) + 2.0 * np.outer(np.r_[y[0], y[1], np.zeros(14)], 1)
        for y in labels
    ]
    config = TrainConfig(
        chunk_frames=20, batch_size=16, max_epochs=8, lr=0.05, milestones=(6,), gamma=0.5, patience=10, seed=0
    )
    result = train("tiny", params.model, config, clips[:80], labels[:80], clips[80:100], labels[80:100], progress=False)
    preprocessing = {"sample_rate": 16000, "n_mels": 16, "patch_frames": 20}
    record = registry.model_record(
        "tiny", params.model, result.model_state, ["low", "next"], preprocessing, {"source": "test"}
    )
    buffer = io.BytesIO()
    torch.save(record, buffer)
    buffer.seek(0)
    probabilities, _ = Tagger.load(torch.load(buffer, weights_only=True), "cpu").predict_and_embed(clips[100:])
    from sklearn.metrics import roc_auc_score

    assert all(roc_auc_score(labels[100:, j], probabilities[:, j]) > 0.9 for j in range(2))
    with pytest.raises(ValueError, match="log-mel"):
        registry.Architecture(f"{__name__}:TinyNet", TINY, layout="embedding", windows="embedding", trainable=True)


FACTORISER_WALKTHROUGH = """
import json
import numpy as np, pandas as pd, scipy.sparse as sp, yaml
from msd_tagging.core.config import parameters, setting
from msd_tagging.listening import factorisers

@parameters("listening.small_bpr")
class SmallBPRConfig:
    factors: int = setting(8, minimum=1)
    iterations: int = setting(40, minimum=1)
    seed: int = setting(0, minimum=0)
    num_threads: int = setting(1, minimum=0)
    use_gpu: bool = False

def _small_bpr(config, use_gpu):
    import implicit.bpr
    return implicit.bpr.BayesianPersonalizedRanking(factors=config.factors, learning_rate=0.05,
        iterations=config.iterations, num_threads=config.num_threads, random_state=config.seed, use_gpu=use_gpu)

factorisers.FACTORISERS["small_bpr"] = factorisers.Factoriser(SmallBPRConfig, _small_bpr, bias=True)

from msd_tagging.core.mapping import IdMaps
from msd_tagging.params import ListeningParams
from msd_tagging.pipelines.listening.nodes import factorise_plays

block = yaml.safe_load("listening: {model: small_bpr, small_bpr: {factors: 8, iterations: 40}}")["listening"]
params = ListeningParams(**block)
group = np.arange(40) < 20
rows, cols = np.nonzero(np.equal.outer(group, group))
plays = pd.DataFrame({"user_idx": rows, "track_idx": cols, "play_count": 1})
ids = IdMaps.build(users=[f"u{i}" for i in range(40)], tracks=[f"t{i}" for i in range(40)])
vectors, _ = factorise_plays(plays, ids, params)
v = vectors.filter(like="f0").to_numpy()
unit = v / np.linalg.norm(v, axis=1, keepdims=True)
s = unit @ unit.T
same = s[np.equal.outer(group, group) & ~np.eye(40, dtype=bool)].mean()
other = s[~np.equal.outer(group, group)].mean()
print(json.dumps({"config": type(params.small_bpr).__name__, "bias": "bias" in vectors.columns,
                  "columns": v.shape[1], "same": float(same), "other": float(other)}))
"""


def test_a_factoriser_is_one_registry_entry_and_one_yaml_block():
    """ "Adding a factoriser": a throwaway entry registered before the parameters are built
    (as a module of the package is) becomes a block of ``listening`` by itself, and
    ``listening.model`` fits with it through the listening node. In a fresh interpreter, so
    the blocks of this one are left alone."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FACTORISER_WALKTHROUGH], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["config"] == "SmallBPRConfig" and out["bias"] and out["columns"] == 8
    assert out["same"] > out["other"] + 0.5, out


def test_audio_model_source_picks_one_of_three_static_audio_sub_pipelines():
    """``audio.model_source`` picks a registered sub-pipeline as ``ingestion.source`` picks
    a source: each DAG holds only the nodes that make its kind of model, and a pipeline
    whose audio side is another kind than the parameters ask for stops before it runs."""
    from msd_tagging.core.errors import ParameterError
    from msd_tagging.framework.hooks import _check_audio_variant
    from msd_tagging.framework.session import for_source
    from msd_tagging.params import AudioParams
    from msd_tagging.pipeline_registry import register_pipelines

    registered = register_pipelines()
    assert for_source("hybrid", "tables", registered, "head") == "hybrid.tables.head"
    assert for_source("__default__", "msd", registered, "pretrained") == "hybrid.msd.pretrained"
    assert for_source("hybrid", "msd", registered) == "hybrid.msd"
    assert for_source("ingestion", "msd", registered, "head") == "ingestion.msd"
    assert for_source("audio", "msd", registered, "head") == "audio.head"
    nodes = {v: {n.name: n for n in registered[f"hybrid.msd{s}"].nodes} for v, s in
             (("train", ""), ("pretrained", ".pretrained"), ("head", ".head"))}  # fmt: skip
    assert {"train_tagger", "plot_training"} <= set(nodes["train"]) and "take_pretrained" not in nodes["train"]
    assert "take_pretrained" in nodes["pretrained"] and "train_tagger" not in nodes["pretrained"]
    assert "audio_embeddings" in nodes["head"]["score_audio"].inputs and "plot_training" not in nodes["head"]
    assert "audio_embeddings" not in nodes["train"]["score_audio"].inputs  # the false edge is gone
    catalog = DataCatalog({"params:audio": MemoryDataset(AudioParams(model_source="head"))})
    _check_audio_variant(registered["hybrid.msd.head"].nodes, catalog)
    with pytest.raises(ParameterError, match="hybrid.<source>.head"):
        _check_audio_variant(registered["hybrid.msd"].nodes, catalog)
