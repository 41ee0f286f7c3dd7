"""Bad-input cases not covered elsewhere; docs/reliability.md lists the whole suite
(``pytest -m bad_input`` runs it alone)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from msd_tagging.audio.signal import DamageConfig, MelConfig, check_and_extract
from msd_tagging.core.mapping import IdMaps
from msd_tagging.params import (
    EvaluationParams,
    FiguresParams,
    IngestionParams,
    ListeningParams,
    ReportingParams,
)
from msd_tagging.pipelines.listening.nodes import factorise_plays
from msd_tagging.scoring.scorers import mean_fusion, mf_centroid_scores

pytestmark = pytest.mark.bad_input


def test_id3_only_mp3_is_not_audio_and_the_detail_says_so(tmp_path):
    path = tmp_path / "tag_only.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10))  # an ID3v2 header and padding, no frames
    features, status, detail = check_and_extract(path, MelConfig(), DamageConfig())
    assert features is None and status == "not_audio"
    assert detail.startswith("cannot be decoded as audio (20 bytes)")


def test_tracks_without_plays_and_users_with_one_play(tmp_path):
    ids = IdMaps.build(users=[f"u{i}" for i in range(30)], tracks=[f"T{i}" for i in range(12)])
    rows = [(u, t, 1 + (u * t) % 4) for u in range(29) for t in range(10) if (u + t) % 3]
    rows.append((29, 0, 1))  # a listener with a single play
    plays = pd.DataFrame(rows, columns=["user_idx", "track_idx", "play_count"])  # T10, T11: never played
    params = ListeningParams(weighting="log1p", bpr={"factors": 8, "iterations": 20, "num_threads": 1, "seed": 0})
    vectors, curve = factorise_plays(plays, ids, params)
    assert curve.empty  # early stopping is off unless asked for
    assert vectors.set_index("track_id").loc[["T10", "T11"], "cold"].all()
    assert vectors.set_index("track_id").loc[["T10", "T11"], "f000"].isna().all()
    assert np.isfinite(vectors.loc[~vectors["cold"], "f000"]).all()

    tracks = pd.DataFrame({"track_id": ids.ids("tracks"), "split": ["train"] * 8 + ["test"] * 4})
    audio = pd.DataFrame({"track_id": ids.ids("tracks"), "rock": np.linspace(0.1, 0.9, 12)})
    labels = pd.DataFrame({"track_id": ids.ids("tracks"), "rock": [0, 1] * 6})
    listening = ListeningParams(use_bias=False, top_n=3, drop_fraction=0.0, calibration="cosine", platt_c=1.0)
    mf = mf_centroid_scores(vectors, audio, tracks, labels, listening)
    assert not mf["track_id"].isin(["T10", "T11"]).any()  # cold tracks get no MF score
    hybrid_table = mean_fusion(audio, mf).set_index("track_id")
    assert hybrid_table.loc["T11", "rock"] == audio.set_index("track_id").loc["T11", "rock"]  # audio alone


def test_yaml_with_python_tags_is_rejected(tmp_path):
    """Configuration is loaded safely: a ``!!python`` tag is an error, never executed."""
    from kedro.config import OmegaConfigLoader

    from msd_tagging import settings

    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    marker = tmp_path / "pwned"
    (conf / "base" / "parameters.yml").write_text(f'evil: !!python/object/apply:os.system ["touch {marker}"]\n')
    loader = OmegaConfigLoader(str(conf), **settings.CONFIG_LOADER_ARGS)
    with pytest.raises(Exception, match="python/object/apply"):
        loader["parameters"]
    assert not marker.exists()


def test_reliability_md_names_real_tests():
    """Every test docs/reliability.md cites exists, so the suite it describes is the one that runs."""
    import ast

    from tests.conftest import REPO, reliability_test_ids

    named = reliability_test_ids()
    assert len(named) >= 30
    for test_id in sorted(named):
        path, name = test_id.split("::")
        tree = ast.parse((REPO / path).read_text())
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in functions, f"docs/reliability.md cites {test_id}, which does not exist"


# --- 1. the demo generator never replaces a folder it did not write ------------------


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_generation_never_replaces_a_users_folder(tiny_world, tmp_path, monkeypatch):
    """``raw_root`` pointed at a real folder in the default env: the run stops naming the
    folder, and every file in it is left as it was (it used to be ``rmtree``-d)."""
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.demo.writer import write_world
    from tests.test_run import _conf, _run, _tiny_env

    mine = tmp_path / "my_msd"
    (mine / "taste_profile").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes, not a demo world\n")
    (mine / "taste_profile" / "train_triplets.txt").write_text("u\ts\t1\n")
    before = _snapshot(mine)

    with pytest.raises(MSDDataError, match=rf"{mine}.*did not write.*set raw_root"):
        write_world(tiny_world, mine, workers=1, progress=False)
    assert _snapshot(mine) == before

    env = _tiny_env(tmp_path)
    env["globals.yml"]["raw_root"] = str(mine)
    conf = _conf(tmp_path, {"tiny": env})
    with pytest.raises(
        MSDDataError, match=rf"would replace {mine}, which holds files the demo generator did not write"
    ):
        _run(conf, "tiny", tmp_path, monkeypatch, pipeline="demo_data")
    assert _snapshot(mine) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".my_msd")] == []  # no staging left


def test_demo_generation_replaces_only_its_own_marked_folder(tiny_world, tmp_path):
    from msd_tagging.demo.writer import MANIFEST, may_replace, write_world

    empty = tmp_path / "empty"
    empty.mkdir()
    assert may_replace(empty) and may_replace(tmp_path / "absent")
    write_world(tiny_world, empty, workers=1, progress=False)
    assert (empty / MANIFEST).is_file()
    (empty / "stray.txt").write_text("inside a generator folder")
    assert may_replace(empty)  # the marker makes it the generator's own
    (empty / MANIFEST).write_text('{"source": "external"}')
    assert not may_replace(empty)  # a forged or foreign record is not the marker
    afile = tmp_path / "a_file"
    afile.write_text("x")
    assert not may_replace(afile)


def test_stale_staging_of_a_killed_generation_is_removed(tmp_path):
    """``kill -9`` during generation leaves ``.<name>.partial-<pid>``; the next run removes it
    when that process is gone, and leaves a live process's staging alone."""
    import os

    from msd_tagging.demo.writer import remove_stale_staging

    dead = _dead_pid()
    stale = tmp_path / f".demo.partial-{dead}"
    (stale / "audio").mkdir(parents=True)
    live = tmp_path / f".demo.partial-{os.getppid()}"
    live.mkdir()
    other = tmp_path / ".demo.partial-notes"
    other.mkdir()
    assert remove_stale_staging(tmp_path / "demo") == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def _dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# --- 2. nothing to score: say which tags have no positives; a wrong split by name ----


def _scores_and_labels(positives: bool):
    tags = ["rock", "Hip-Hop", "jazz"]
    ids = [f"T{i}" for i in range(6)]
    labels = pd.DataFrame({"track_id": ids, **{t: [int(positives and i % 2 == 0) for i in range(6)] for t in tags}})
    scores = pd.DataFrame({"track_id": ids, **{t: np.linspace(0.1, 0.9, 6) for t in tags}})
    tracks = pd.DataFrame({"track_id": ids, "split": ["test"] * 6})
    popularity = pd.DataFrame({"track_id": ids, "plays": [0, 1, 2, 3, 4, 5], "bin": ["0"] + ["1+"] * 5})
    return scores, labels, tracks, popularity


def test_no_scorable_tag_says_which_tags_have_no_positives():
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.pipelines.evaluation.nodes import evaluate_scorer
    from msd_tagging.scoring.evaluation import require_positives

    scores, labels, tracks, popularity = _scores_and_labels(positives=False)
    with pytest.raises(
        MSDDataError,
        match=r"no tag can be scored on the test split \(6 tracks.*3 tags have no positive track \(rock, Hip-Hop, jazz\).*tag_threshold",
    ):
        evaluate_scorer(scores, labels, tracks, popularity, EvaluationParams(split="test"))
    with pytest.raises(MSDDataError, match=r"no tag has a positive track in the train split.*rock, Hip-Hop, jazz"):
        require_positives(labels[["rock", "Hip-Hop", "jazz"]].to_numpy(), ["rock", "Hip-Hop", "jazz"], "train")
    summary, _ = evaluate_scorer(*_scores_and_labels(positives=True), EvaluationParams(split="test"))
    assert summary["n_tags_scored"] == 3


def test_a_tag_threshold_above_every_weight_stops_ingestion_naming_it():
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.pipelines.ingestion.nodes import build_tag_labels

    tracks = pd.DataFrame({"track_id": ["TRAAAAA00000000001", "TRAAAAA00000000002"], "split": ["train", "test"]})
    lastfm = pd.DataFrame({"track_id": tracks["track_id"], "tag": ["rock", "jazz"], "weight": [100.0, 90.0]})
    params = IngestionParams(tag_threshold=101, tag_weight_max=1000, max_bad_tag_rows_fraction=0.01)
    with pytest.raises(
        MSDDataError,
        match=r"no tag has a positive track in the train split.*highest weight .* is 100; ingestion.tag_threshold is 101",
    ):
        build_tag_labels(tracks, lastfm, ["rock", "jazz"], params)


def test_a_wrong_split_name_is_refused_by_name():
    from msd_tagging.core.errors import ParameterError

    with pytest.raises(
        ParameterError, match=r"parameter evaluation.split: 'foo' is not one of 'train', 'valid', 'test'"
    ):
        EvaluationParams(split="foo")
    with pytest.raises(ParameterError, match=r"parameter reporting.cold_start.split: 'tset' is not one of"):
        ReportingParams(cold_start={"split": "tset"})


# --- 3. figure and playlist tags checked against the vocabulary ---------------------


def test_figure_tags_missing_from_a_short_vocabulary_are_skipped_with_a_warning(caplog):
    from msd_tagging.pipelines.reporting.nodes import tag_agreement, tsne_figures

    rng = np.random.default_rng(0)
    ids = [f"T{i}" for i in range(40)]
    vectors = pd.DataFrame(
        {"track_id": ids, "cold": False, **{f"f{j:03d}": rng.standard_normal(40) for j in range(4)}, "bias": 0.0}
    )
    labels = pd.DataFrame(
        {"track_id": ids, "rock": [i % 2 for i in range(40)], "jazz": [i % 3 == 0 for i in range(40)]}
    ).astype({"jazz": int})
    chosen = {"highlight_tag": "Hip-Hop", "grid_tags": ["Hip-Hop", "jazz", "80s"]}
    params = FiguresParams(**chosen, agreement={"k": 3, "seed": 0, **chosen})
    with caplog.at_level("WARNING"):
        result = tag_agreement(vectors, labels, params)
    assert list(result["tags"]) == ["rock", "jazz"]  # the figure's tags: the highlight's stand-in, then the grid's
    assert "'Hip-Hop', '80s' not in the tag vocabulary (2 tags), left out" in caplog.text
    assert "figures.highlight_tag: none in the vocabulary; using its first 1 tags: rock" in caplog.text
    embedding = pd.DataFrame({"track_id": ids, "x": rng.standard_normal(40), "y": rng.standard_normal(40)})
    single, grid = tsne_figures(embedding, labels, params)
    assert "rock" in single.axes[0].get_title() and grid.axes[0].get_title().startswith("jazz")


# --- 4, 15. links under the audio root -----------------------------------------------


def test_a_dangling_symlink_in_the_audio_root_is_missing_audio_named(tmp_path):
    from msd_tagging.datasets import AudioListingDataset
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio
    from msd_tagging.readers import AudioPathIndex

    ids = ["TRAAAAA00000000001", "TRAAAAA00000000002", "TRAAAAA00000000003"]
    root = tmp_path / "audio"
    (root / "A/A/A").mkdir(parents=True)
    (root / f"A/A/A/{ids[0]}.mp3").write_bytes(b"x" * 10)
    (root / f"A/A/A/{ids[1]}.mp3").symlink_to(tmp_path / "gone.mp3")
    (root / f"A/A/A/{ids[2]}.mp3").write_bytes(b"x" * 10)
    (root / "stray.mp3").symlink_to(tmp_path / "also_gone.mp3")
    listing = AudioListingDataset(str(root)).load()
    assert listing.set_index("path").loc["stray.mp3", "link"] == "dangling"
    tracks = pd.DataFrame({"track_id": ids, "split": ["train", "test", "test"]})
    out, stats = resolve_audio(
        tracks, AudioPathIndex(), listing, IngestionParams(report_max_listed=10, max_missing_audio_fraction=0.9)
    )
    assert out["audio_status"].tolist() == ["ok", "dangling_link", "ok"]
    assert stats["tracks_without_audio"]["dangling_link"] == [
        {"track_id": ids[1], "path": f"A/A/A/{ids[1]}.mp3", "split": "test"}
    ]
    assert stats["dangling_links"] == [f"A/A/A/{ids[1]}.mp3", "stray.mp3"]


def test_a_link_pointing_outside_the_audio_root_is_followed_and_counted(tmp_path):
    """Decided: followed (link farms into other disks are how large collections are laid
    out, and only who can write the root can place one), but counted and listed."""
    from msd_tagging.datasets import AudioListingDataset
    from msd_tagging.pipelines.ingestion.nodes import resolve_audio
    from msd_tagging.readers import AudioPathIndex

    track = "TRAAAAA00000000001"
    elsewhere = tmp_path / "other_disk" / "song.mp3"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x" * 10)
    root = tmp_path / "audio"
    (root / "A/A/A").mkdir(parents=True)
    (root / f"A/A/A/{track}.mp3").symlink_to(elsewhere)
    listing = AudioListingDataset(str(root)).load()
    out, stats = resolve_audio(
        pd.DataFrame({"track_id": [track], "split": ["train"]}),
        AudioPathIndex(),
        listing,
        IngestionParams(report_max_listed=10, max_missing_audio_fraction=0.0),
    )
    assert out["audio_status"].tolist() == ["ok"]
    assert stats["links_outside_audio_root"] == {"count": 1, "paths": [f"A/A/A/{track}.mp3"]}


# --- 5. tag_audio reports a non-finite file and tags the rest ------------------------


def test_tag_audio_reports_a_nan_wav_and_tags_the_rest(tmp_path):
    import soundfile as sf

    from msd_tagging.demo.synth import render_track
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files
    from tests.test_tag_audio import ATTRS, AUDIO_ARGS, _model, _params

    folder = tmp_path / "new"
    folder.mkdir()
    sf.write(folder / "good.wav", render_track(ATTRS, sample_rate=16000, seconds=2.0, seed=1), 16000)
    bad = render_track(ATTRS, sample_rate=16000, seconds=2.0, seed=2).astype(np.float32)
    bad[1000:1010] = np.nan
    sf.write(folder / "nan.wav", bad, 16000, subtype="FLOAT")
    table, report, _ = tag_audio_files(_model(), _params(folder, pattern="wav"), *AUDIO_ARGS)
    status = table.set_index("file")["status"].to_dict()
    assert status == {"good.wav": "ok", "nan.wav": "not_finite"}
    assert report["tagged"] == 1 and report["statuses"]["not_finite"] == 1


# --- 6. parameters are checked at the start, by name -------------------------------


def _project_parameters(tmp_path, runtime: dict | None = None) -> dict:
    """The base env's parameters as a run loads them, with ``runtime`` as ``--params`` would add."""
    from kedro.config import OmegaConfigLoader

    from msd_tagging import settings
    from tests.conftest import REPO

    loader = OmegaConfigLoader(str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS, runtime_params=runtime or {})
    return loader["parameters"]


def _nested(dotted: str, value) -> dict:
    head, _, rest = dotted.partition(".")
    return {head: _nested(rest, value) if rest else value}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("listening.bpr.factors", "abc", r"listening.bpr.factors: 'abc' is not a whole number"),
        (
            "listening.bpr.factors",
            -5,
            r"listening.bpr.factors: -5 is out of range. Fix: use a whole number of at least 1",
        ),
        ("listening.bpr.iterations", -1, r"listening.bpr.iterations: -1 is out of range"),
        ("listening.bpr.factor", 10, r"listening.bpr.factor: unknown setting; listening.bpr accepts factors"),
        ("listening.top_n", None, r"listening.top_n: None is not a whole number"),
        ("tag_audio.top_k", 0, r"tag_audio.top_k: 0 is out of range"),
        ("audio.train.device", "gpu0", r"audio.train.device: 'gpu0' is not a device"),
        ("audio.model_source", "msd_resnet", r"audio.model_source: 'msd_resnet' is not one of 'train'"),
        ("evaluation.split", "foo", r"evaluation.split: 'foo' is not one of"),
        ("ingestion.tag_threshold", "abc", r"ingestion.tag_threshold: 'abc' is not a number"),
        ("ingestion.max_missing_audio_fraction", "abc", r"ingestion.max_missing_audio_fraction: 'abc' is not a number"),
        ("ingestion.report_max_listed", -3, r"ingestion.report_max_listed: -3 is out of range"),
        ("ingestion.vocabulary.top_n", 0, r"ingestion.vocabulary.top_n: 0 is out of range"),
        ("scoring.fusion.grid_step", 0, r"scoring.fusion.grid_step: 0 must be above 0"),
        ("scoring.fusion.shrinkage", "abc", r"scoring.fusion.shrinkage: 'abc' is not a number"),
        ("listening.drop_fraction", 1.5, r"listening.drop_fraction: 1.5 is out of range"),
        ("scoring.classifier.cs", [], r"scoring.classifier.cs: is empty"),
        ("reporting.playlists.length", "abc", r"reporting.playlists.length: 'abc' is not a whole number"),
        ("reporting.cold_start.popularity_edges", "abc", r"reporting.cold_start.popularity_edges: 'abc' is not a list"),
        ("reporting.cold_start.popularity_edges", [1, 5], r"popularity_edges: \[1.0, 5.0\] must start at 0"),
        ("figures.tsne.perplexity", "abc", r"figures.tsne.perplexity: 'abc' is not a number"),
        ("figures.agreement.k", 0, r"figures.agreement.k: 0 is out of range"),
        ("demo_data.n_users", "abc", r"demo_data.n_users: 'abc' is not a whole number"),
        ("demo_data.era_audible", 2, r"demo_data.era_audible: 2 is out of range"),
    ],
)
def test_parameters_are_checked_by_name_before_the_run(tmp_path, key, value, message):
    """Kedro builds every typed block the pipelines read before the first node
    (``msd_tagging.params``); each wrong value is named by its dotted key."""
    from kedro.validation import ParameterValidationError, ParameterValidator

    from msd_tagging.pipeline_registry import register_pipelines

    validator = ParameterValidator(register_pipelines())
    validator.validate_raw_params(_project_parameters(tmp_path))  # the shipped ones pass
    with pytest.raises(ParameterValidationError, match=message):
        validator.validate_raw_params(_project_parameters(tmp_path, _nested(key, value)))


def test_cuda_asked_for_without_cuda_is_named_before_the_run():
    import torch

    from msd_tagging.core.errors import ParameterError
    from msd_tagging.params import AudioParams

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(
        ParameterError,
        match=r"audio.train.device: 'cuda' asked for, but this torch .* Fix: set audio.train.device: auto",
    ):
        AudioParams(train={"device": "cuda"})


def test_every_parameter_a_node_reads_is_a_typed_top_level_block():
    """So Kedro checks every block before the run: no node reads an untyped ``params:``
    input, or a key inside a block (two nodes would then ask for overlapping parts)."""
    import inspect
    import typing

    from msd_tagging.core.config import is_block
    from msd_tagging.pipeline_registry import register_pipelines

    seen = set()
    for pipeline in register_pipelines().values():
        for node in pipeline.nodes:
            names = list(inspect.signature(node.func).parameters)
            hints = typing.get_type_hints(node.func)
            for dataset, argument in zip(node.inputs, names, strict=False):
                if not dataset.startswith("params:"):
                    continue
                assert "." not in dataset, f"{node.name} reads {dataset}, a key inside a block"
                assert is_block(hints.get(argument)), f"{node.name}: {argument} ({dataset}) is not a typed block"
                seen.add(dataset.removeprefix("params:"))
    assert seen == {
        "audio", "demo_data", "evaluation", "figures", "ingestion", "listening", "reporting", "scoring", "tag_audio",
        "tagging",
    }  # fmt: skip


def test_top_n_at_least_the_training_tracks_is_warned(caplog):
    from msd_tagging.scoring.scorers import mf_centroid_scores
    from tests.test_listening import _node_inputs

    vectors, audio, tracks, labels, params = _node_inputs()
    with caplog.at_level("WARNING"):
        mf_centroid_scores(vectors, audio, tracks, labels, dataclasses.replace(params, top_n=100000))
    assert "listening.top_n=100000 is not below the" in caplog.text and "cannot tell tags apart" in caplog.text


def test_a_wrong_parameter_stops_a_kedro_run_before_its_first_node(tmp_path, monkeypatch):
    from kedro.validation import ParameterValidationError

    from tests.test_run import _conf, _run, _tiny_env

    conf = _conf(tmp_path, {"tiny": _tiny_env(tmp_path)})
    with pytest.raises(ParameterValidationError, match=r"listening.bpr.factors: 'abc' is not a whole number"):
        _run(conf, "tiny", tmp_path, monkeypatch, params={"listening": {"bpr": {"factors": "abc"}}})
    assert not (tmp_path / "data/01_raw/tiny").exists()  # stopped before the world was drawn


# --- 7. a UTF-8 byte-order mark changes nothing ---------------------------------------

BOM = "\ufeff"


def test_a_byte_order_mark_is_stripped_by_every_text_reader(samples, tmp_path):
    from msd_tagging.readers import (
        read_audio_index,
        read_lastfm_json_tree,
        read_manually_accepted,
        read_sid_mismatches,
        read_tag_list,
        read_triplets,
        read_unique_tracks,
    )

    def with_bom(name: str, text: str):
        path = tmp_path / name
        path.write_text(BOM + text, encoding="utf-8")
        return path

    tags = (samples / "msd_50tagList.txt").read_text()
    assert read_tag_list(with_bom("50tagList.txt", tags)) == read_tag_list(samples / "msd_50tagList.txt")
    mismatches = (samples / "taste_sid_mismatches.head20.txt").read_text()
    assert read_sid_mismatches(with_bom("sid_mismatches.txt", mismatches)).equals(
        read_sid_mismatches(samples / "taste_sid_mismatches.head20.txt")
    )
    accepted = "1,2d0\n" + "".join("< " + line + "\n" for line in mismatches.splitlines()[:2])
    assert len(read_manually_accepted(with_bom("accepted.txt", accepted.removeprefix("1,2d0\n")))) == 2
    unique = (samples / "msd_unique_tracks.head3.txt").read_text()
    assert read_unique_tracks(with_bom("unique_tracks.txt", unique)).equals(
        read_unique_tracks(samples / "msd_unique_tracks.head3.txt")
    )
    triplets = (samples / "taste_train_triplets.head10.txt").read_text()
    pd.testing.assert_frame_equal(
        read_triplets(with_bom("triplets.txt", triplets)), read_triplets(samples / "taste_train_triplets.head10.txt")
    )
    index = with_bom("index.tsv", "TRAADIN128F931D672\tA/A/D/TRAADIN128F931D672.mp3\n")
    assert read_audio_index(index)["track_id"].tolist() == ["TRAADIN128F931D672"]
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "a.json").write_text(
        BOM + (samples / "lastfm_track_json_example.json").read_text(), encoding="utf-8"
    )
    assert len(read_lastfm_json_tree(tmp_path / "json")) > 0


def test_a_byte_order_mark_keeps_the_first_tag_and_the_accepted_pair(tiny_root, tmp_path, monkeypatch):
    """The reported symptoms, through ingestion: the first vocabulary tag keeps its
    positives and the manually accepted pair is still accepted."""
    import shutil

    from tests.test_run import _conf, _run, _tiny_env

    raw = tmp_path / "raw"
    shutil.copytree(tiny_root, raw)
    for name in ("splits/50tagList.txt", "taste_profile/sid_matches_manually_accepted.txt", "msd/unique_tracks.txt"):
        path = raw / name
        path.write_text(BOM + path.read_text(encoding="utf-8"), encoding="utf-8")
    env = _tiny_env(tmp_path)
    env["globals.yml"]["raw_root"] = str(raw)
    conf = _conf(tmp_path, {"tiny": env})
    _run(conf, "tiny", tmp_path, monkeypatch, pipeline="ingestion")
    report = __import__("json").loads((tmp_path / "data/08_reporting/tiny/ingestion_report.json").read_text())
    assert report["songs"]["pairs_kept_manually_accepted"] == 1 and report["songs"]["pairs_dropped_sid_mismatch"] == 2
    labels = pd.read_parquet(tmp_path / "data/03_primary/tiny/tag_labels.parquet")
    assert labels.columns[1] == "rock" and labels["rock"].sum() > 0


# --- 8. dirty lastfm_tags.db rows are counted, and stop the run above a threshold -----


def _dirty_db(path, rows, tids=None):
    import sqlite3

    tids = tids or ["TRAAAAA00000000001", "TRAAAAA00000000002"]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tids (tid TEXT)")
        db.execute("CREATE TABLE tags (tag TEXT)")
        db.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        db.executemany("INSERT INTO tids (ROWID, tid) VALUES (?, ?)", list(enumerate(tids, start=1)))
        db.executemany("INSERT INTO tags (ROWID, tag) VALUES (?, ?)", [(1, "rock"), (2, None), (3, "jazz")])
        db.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)", rows)
    db.close()


def test_dirty_lastfm_rows_are_counted_by_reason(tmp_path):
    from msd_tagging.readers import read_lastfm_tags_db

    path = tmp_path / "lastfm_tags.db"
    rows = [
        (1, 1, 100.0),
        (2, 3, 80.0),
        (1, 3, None),
        (2, 1, "lots"),
        (None, 1, 50.0),
        (1, 2, 90.0),
        (9, 1, 70.0),
        (3, 1, 60.0),
        (1, 1, 100.0),
    ]
    _dirty_db(path, rows, tids=["TRAAAAA00000000001", "TRAAAAA00000000002", "TRAAAAA00000000001"])
    frame = read_lastfm_tags_db(path)
    assert frame.attrs["dropped_rows"] == {
        "null_id": 1,
        "null_weight": 1,
        "weight_not_a_number": 1,
        "unknown_tid": 1,
        "null_tag": 1,
    }
    assert frame.attrs["duplicate_tids"] == 1 and frame.attrs["rows_in_file"] == 9
    assert frame["track_id"].astype(str).tolist() == [
        "TRAAAAA00000000001",
        "TRAAAAA00000000002",
        "TRAAAAA00000000001",
        "TRAAAAA00000000001",
    ]


def test_null_tag_weights_stop_ingestion_naming_the_file(tmp_path):
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.pipelines.ingestion.nodes import build_tag_labels
    from msd_tagging.readers import read_lastfm_tags_db

    path = tmp_path / "lastfm_tags.db"
    tids = [f"TRAAAAA0000000000{i}" for i in range(1, 7)]  # a train track, two valid, three test
    _dirty_db(path, [(1, 1, None), (2, 3, None), (1, 3, 90.0), (1, 1, 70.0), (2, 1, 80.0), (4, 1, 80.0)], tids)
    tracks = pd.DataFrame({"track_id": tids, "split": ["train", "valid", "valid", "test", "test", "test"]})
    with pytest.raises(
        MSDDataError,
        match=rf"{path}: 2 of 6 tid_tag rows \(33.3%\) cannot be used \(2 null weight\), above ingestion.max_bad_tag_rows_fraction=0.01",
    ):
        build_tag_labels(
            tracks,
            read_lastfm_tags_db(path),
            ["rock", "jazz"],
            IngestionParams(tag_threshold=50, max_bad_tag_rows_fraction=0.01),
        )
    labels, _, stats = build_tag_labels(
        tracks, read_lastfm_tags_db(path), ["rock", "jazz"], IngestionParams(max_bad_tag_rows_fraction=0.9)
    )
    assert stats["lastfm_rows_unusable"]["by_reason"] == {"null_weight": 2}
    assert labels["jazz"].tolist() == [1, 0, 0, 0, 0, 0]


# --- 9. features follow the audio file, not its name ---------------------------------


def test_a_replaced_audio_file_is_extracted_again(tmp_path):
    import os

    import soundfile as sf

    from msd_tagging.audio.signal import DamageConfig, MelConfig
    from msd_tagging.audio.store import ExtractionPlan, FeatureStore, write_plan
    from msd_tagging.demo.synth import render_track
    from tests.test_tag_audio import ATTRS

    audio = tmp_path / "audio"
    audio.mkdir()
    good = {}
    for i in range(3):
        path = audio / f"{i}.mp3"
        sf.write(path, render_track(ATTRS, sample_rate=16000, seconds=4.0, seed=i), 16000, format="MP3")
        good[i] = path.read_bytes()
    (audio / "1.mp3").write_bytes(good[1][: len(good[1]) // 3])  # reported truncated first
    jobs = tuple((f"TRAAAAA0000000000{i}", f"{i}.mp3") for i in range(3))
    plan = ExtractionPlan(
        jobs=jobs, mel=MelConfig(), damage=DamageConfig(expected_seconds=4.0), tracks_per_shard=2, workers=1
    )
    assert write_plan(plan, tmp_path / "store", audio, progress=False)["truncated"] == 1

    (audio / "1.mp3").write_bytes(good[1])  # a good copy replaces the truncated one
    os.utime(audio / "1.mp3", ns=(1, 1))
    counts = write_plan(plan, tmp_path / "store", audio, progress=False)
    assert counts["files_changed"] == 1 and counts["tried"] == 2 and counts["skipped_done"] == 1  # its shard of 2
    store = FeatureStore(tmp_path / "store")
    assert store.manifest.set_index("track_id").loc["TRAAAAA00000000001", "status"] == "ok"
    assert "TRAAAAA00000000001" in store and store.manifest["track_id"].is_unique


# --- 10. tag_audio patterns from the command line ------------------------------------


def test_tag_audio_patterns_work_as_bare_extensions_and_quoted_globs(tmp_path):
    from click import Context, Option
    from kedro.framework.cli.utils import _split_params

    from msd_tagging.core.errors import ParameterError
    from msd_tagging.params import TagAudioParams
    from msd_tagging.pipelines.tag_audio.nodes import find_audio

    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "b.flac").write_bytes(b"x")
    (tmp_path / "c.mp3").write_bytes(b"x")
    for given, expected in (("wav", ["a.wav"]), ("wav|flac", ["a.wav", "b.flac"]), ("*.mp3", ["c.mp3"])):
        config = TagAudioParams(input_dir=str(tmp_path), pattern=given)
        assert [p.name for p in find_audio(config.input_dir, config.globs, True)] == expected
    context = Context(__import__("click").Command("run"))
    documented = _split_params(
        context, Option(["--params"]), 'tag_audio.pattern="*.wav"'
    )  # the README's form, after the shell
    assert documented == {"tag_audio": {"pattern": "*.wav"}}
    with pytest.raises(ParameterError, match="tag_audio.pattern"):
        TagAudioParams(input_dir=str(tmp_path), pattern="")


# --- 11. long recordings in bounded memory --------------------------------------------


def test_a_long_recording_decodes_in_bounded_memory_and_equals_a_whole_decode(tmp_path):
    import tracemalloc

    import soundfile as sf
    import soxr

    from msd_tagging.audio.signal import decode

    rng = np.random.default_rng(0)
    seconds, native = 240, 44100
    stereo = (0.1 * rng.standard_normal((seconds * native, 2))).astype(np.float32)
    path = tmp_path / "long.flac"
    sf.write(path, stereo, native)
    decoded, _ = sf.read(path, dtype="float32")  # FLAC holds 16-bit samples: compare with what it holds
    whole = soxr.resample((decoded[:, 0] + decoded[:, 1]) * np.float32(0.5), native, 16000, quality="HQ")
    native_bytes = decoded.nbytes
    del stereo, decoded
    tracemalloc.start()
    signal, declared = decode(path, 16000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert declared == seconds * 16000 and signal.size == whole.size
    np.testing.assert_allclose(signal, whole, atol=1e-6)
    assert (
        peak < 0.5 * native_bytes
    )  # about twice the 16-kHz mono signal (pieces, then joined), never the 44.1-kHz stereo decode
    capped, _ = decode(path, 16000, max_seconds=10)
    assert capped.size == 10 * 16000


# --- 12. workers die with the run -----------------------------------------------------


def test_extraction_workers_exit_when_the_run_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "run.py"
    script.write_text(
        "import os, sys, time, multiprocessing\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from msd_tagging.audio.signal import MelConfig\n"
        "from msd_tagging.audio.store import _init_worker\n"
        "def pid_then_sleep(_):\n    time.sleep(0.2)\n    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn'), initializer=_init_worker, initargs=(MelConfig(), os.getpid()))\n"
        "    print(' '.join(map(str, set(pool.map(pid_then_sleep, range(8))))), flush=True)\n"
        "    futures = [pool.submit(time.sleep, 60) for _ in range(2)]\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    workers = [int(p) for p in process.stdout.readline().split()]
    assert workers
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in workers):
        time.sleep(0.1)
    assert not any(_running(p) for p in workers)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- 13. triplets edge cases ------------------------------------------------------------


def test_triplets_accept_a_trailing_blank_line_and_name_the_line_of_a_huge_count(samples, tmp_path):
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.readers import read_triplets

    text = (samples / "taste_train_triplets.head10.txt").read_text()
    trailing = tmp_path / "trailing.txt"
    trailing.write_text(text + "\n")
    assert len(read_triplets(trailing)) == 10
    lines = text.splitlines()
    user, song, _ = lines[3].split("\t")
    lines[3] = f"{user}\t{song}\t99999999999999999999999"
    huge = tmp_path / "huge.txt"
    huge.write_text("\n".join(lines) + "\n")
    with pytest.raises(MSDDataError, match=r"huge.txt, line 4: play count 99999999999999999999999 is too large"):
        read_triplets(huge)
    lines[3] = f"{user}\tNOT_A_SONG\t3"
    blank_first = tmp_path / "blank_first.txt"
    blank_first.write_text("\n" + "\n".join(lines) + "\n")
    with pytest.raises(MSDDataError, match=r"blank_first.txt, line 5: 'NOT_A_SONG' is not an MSD song ID"):
        read_triplets(blank_first)


# --- 14. unreadable files and absurd sample rates ------------------------------------


def test_a_file_the_user_cannot_read_is_reported_as_permission_denied(tmp_path, monkeypatch):
    import os

    import soundfile as sf

    import msd_tagging.audio.signal as audio

    path = tmp_path / "private.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: the kernel's answer to an ordinary user, simulated

        def denied(file, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(audio, "open", denied, raising=False)
    features, status, detail = check_and_extract(path, MelConfig(), DamageConfig())
    assert features is None and (status, detail) == ("unreadable", "permission denied: this user may not read the file")


def test_a_wav_at_1_hz_is_not_audio(tmp_path):
    import soundfile as sf

    path = tmp_path / "tiny.wav"
    sf.write(path, np.zeros(10, np.float32), 1, subtype="PCM_16")  # 10 "seconds" in a few bytes
    features, status, detail = check_and_extract(path, MelConfig(), DamageConfig())
    assert features is None and status == "not_audio"
    assert detail.startswith("declares a sample rate of 1 Hz, below the 4000 Hz of any music file")


def test_decoder_warnings_go_to_the_report_not_the_terminal(tmp_path, capfd):
    """libmpg123 writes "Xing stream size off ..." to fd 2 for a cut MP3: captured, and
    recorded in the file's detail instead."""
    import soundfile as sf

    from msd_tagging.demo.synth import render_track
    from tests.test_tag_audio import ATTRS

    path = tmp_path / "cut.mp3"
    sf.write(path, render_track(ATTRS, sample_rate=16000, seconds=6.0, seed=0), 16000, format="MP3")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    _, status, detail = check_and_extract(path, MelConfig(), DamageConfig(expected_seconds=6.0))
    captured = capfd.readouterr()
    assert status == "truncated" and "decoder: " in detail and "Xing" in detail
    assert "Xing" not in captured.err
