"""The ``hybrid`` pipeline end to end through a real KedroSession.

Each test runs in its own folder with a copy of ``conf/``, so relative ``data/...``
paths land in a temp dir and the repository's own data is never touched.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from msd_tagging.core.errors import MSDDataError
from msd_tagging.pipeline_registry import register_pipelines
from msd_tagging.scoring.scorers import SCORERS
from tests.conftest import TINY, load_script

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


def _conf(tmp_path: Path, overrides: dict[str, dict[str, dict]]) -> Path:
    """A copy of conf/ with ``overrides[env][file] = yaml data`` written into it."""
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf, ignore=shutil.ignore_patterns("local"))
    (conf / "local").mkdir()
    for env, files in overrides.items():
        (conf / env).mkdir(exist_ok=True)
        for name, data in files.items():
            (conf / env / name).write_text(yaml.safe_dump(data))
    return conf


def _run(conf: Path, env: str, cwd: Path, monkeypatch, pipeline: str = "hybrid", params: dict | None = None) -> None:
    monkeypatch.chdir(cwd)
    bootstrap_project(REPO)
    with settings.SESSION_CLASS.create(
        project_path=REPO, env=env, conf_source=str(conf), runtime_params=params
    ) as session:  # the project's session: `hybrid` is the env's ingestion source's
        session.run(pipeline_names=[pipeline])


# The tiny world's 1-s clips, and a training run of seconds.
FAST_AUDIO = {
    "audio": {
        "damage": {"expected_seconds": 1.0, "min_seconds": 0.5},
        "extraction": {"workers": 1, "tracks_per_shard": 32},
        "model": {"channels": [4, 8], "pools": [[4, 4], [2, 2]], "dropout": 0.1},
        "train": {"max_epochs": 2, "chunk_frames": 32, "num_workers": 0, "milestones": [1]},
    }
}


def _tiny_env(tmp_path: Path) -> dict[str, dict]:
    world = {k: v for k, v in TINY.items() if k != "n_train"}
    return {
        "globals.yml": {
            "data_root": str(tmp_path / "data"),
            "run_name": "tiny",
            "raw_root": str(tmp_path / "data/01_raw/tiny"),
            "splits": {"n_train": TINY["n_train"]},
        },
        "parameters_demo_data.yml": {"demo_data": world},
        "parameters_audio.yml": copy.deepcopy(FAST_AUDIO),  # tests change their copy
    }


def test_hybrid_is_registered():
    pipelines = register_pipelines()
    names = {n.name for n in pipelines["hybrid"].nodes}
    assert {
        "msd.build_tracks",
        "msd.build_plays",
        "build_tag_labels",
        "ingestion_report",
        "extract_features",
        "train_tagger",
        "audio.evaluate_scorer",
        "factorise_plays",
        "mf.mf_centroid_scores",
        "hybrid.mean_fusion",
        "hybrid.evaluate_scorer",
        "table_1",
        "tsne_embedding",
        "tsne_figures",
        "tag_agreement",
    } <= names
    assert {
        "mf_classifier.mf_classifier_scores",
        "fusion_classifier.per_tag_fusion",
        "fusion_classifier.evaluate_scorer",
        "extended_table",
        "cold_start",
        "tag_playlists",
    } <= names
    experiments = {n.name for n in pipelines["experiments"].nodes}
    assert {"fusion_by_tag.per_tag_fusion", "hybrid_classifier.evaluate_scorer", "experiments_table"} <= experiments
    assert not experiments & {n.name for n in pipelines["hybrid"].nodes if "." in n.name}  # opt-in, not rerun
    assert {n.name for n in pipelines["demo_data"].nodes} == {"draw_world"}
    # The raw data is drawn (or checked) by a node at the head of the method, and every node
    # reading a raw file runs after it.
    raw = {"raw_inventory", "audio_listing", "audio_paths", "lastfm_tags", "tag_list", "catalogue_audio_paths"}
    for source in ("msd", "tables"):
        method = pipelines[f"hybrid.{source}"]
        module = __import__(f"msd_tagging.pipelines.ingestion.sources.{source}", fromlist=["RAW"])
        reads_raw = {n.name for n in method.nodes if set(n.inputs) & (raw | set(module.RAW)) - {"raw_data"}}
        after = {n.name for n in method.from_nodes("draw_world").nodes}
        assert reads_raw and reads_raw <= after, (source, reads_raw - after)
    tables = {n.name for n in pipelines["hybrid.tables"].nodes}
    assert {"tables.read_catalogue_tracks", "tables.assign_split", "build_tag_labels"} <= tables
    assert not {n for n in tables if n.startswith("msd.")}
    assert {n.name for n in pipelines["tag_audio"].nodes} == {"tag_audio_files"}


def test_every_dataset_resolves_to_the_intended_catalog_entry(tmp_path, monkeypatch):
    """Factory patterns overlap (``{scorer}_metrics`` vs ``{scorer}_per_tag_metrics``): each
    pipeline dataset must resolve to an entry whose type fits what its node returns."""
    from kedro.io import MemoryDataset

    monkeypatch.chdir(REPO)
    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO, env="base") as session:
        catalog = session.load_context().catalog
    datasets = set().union(*(p.datasets() for p in register_pipelines().values()))
    for name in sorted(d for d in datasets if not d.startswith("params:") and d != "parameters"):
        dataset = catalog[name] if name in catalog else MemoryDataset()  # in-memory by design
        kind = getattr(dataset, "wrapped_type", type(dataset).__name__).rsplit(".", 1)[-1]
        if name.endswith("_per_tag_metrics") or name in ("table_1", "extended_table", "cold_start_metrics"):
            assert kind == "ReportCSVDataset", (name, kind)
        elif name.endswith(("_metrics", "_weights", "_report", "_json", "_agreement")):
            assert kind == "JSONDataset", (name, kind)
        elif name.endswith("_scores"):
            assert kind == "ParquetDataset", (name, kind)


@pytest.mark.parametrize("env", ["base", "catalogue"])
def test_the_documented_entry_points_have_only_persisted_inputs(monkeypatch, env):
    """The `--from-nodes` entry points of docs/quickstart.md ("Partial runs"), in every env: the node exists and every input
    is on disk (or a parameter), so a partial run starting there finds what it needs."""
    import re

    from kedro.io import MemoryDataset

    from msd_tagging.pipeline_registry import register_pipelines

    monkeypatch.chdir(REPO)
    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO, env=env) as session:
        context = session.load_context()
        catalog = context.catalog
        source = context.config_loader["parameters"]["ingestion"]["source"]
    nodes = {n.name: n for n in register_pipelines()[f"hybrid.{source}"].nodes}
    text = (REPO / "docs" / "quickstart.md").read_text()
    block = re.search(r"<!-- entry-points -->(.*?)<!-- /entry-points -->", text, re.DOTALL)
    documented = re.findall(r"`([\w.]+)`", block.group(1))
    assert len(documented) >= 10
    for name in documented + re.findall(r"--from-nodes=([\w.]+)", text):
        assert name in nodes, f"docs/quickstart.md names node {name}, which {env}'s hybrid pipeline lacks"
        for dataset in nodes[name].inputs:
            if not dataset.startswith("params:"):
                assert dataset in catalog and not isinstance(catalog[dataset], MemoryDataset), (name, dataset)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, Path]:
    """One hybrid run on the tiny world, shared by the tests that read its outputs."""
    tmp_path = tmp_path_factory.mktemp("tiny_run")
    conf = _conf(tmp_path, {"tiny": _tiny_env(tmp_path)})
    with pytest.MonkeyPatch.context() as monkeypatch, warnings.catch_warnings(record=True) as caught:
        _run(conf, "tiny", tmp_path, monkeypatch)
    (tmp_path / "warnings.txt").write_text(
        "\n".join(f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught)
    )
    return tmp_path, conf


def test_a_normal_run_raises_no_python_warning(tiny_run):
    """Dependencies' deprecation warnings are filtered narrowly in settings.py; nothing else may show."""
    tmp_path, _ = tiny_run
    assert (tmp_path / "warnings.txt").read_text() == ""


def test_a_past_table_1_leads_to_its_parameters_commit_and_model(tiny_run, capsys):
    """The run record beside each versioned Table 1 (msd_tagging.framework.run_record)."""
    import subprocess

    from msd_tagging.framework import runs

    tmp_path, conf = tiny_run
    reporting = tmp_path / "data/08_reporting/tiny"
    version = sorted(p.parent.name for p in (reporting / "table_1.json").glob("*/table_1.json"))[0]
    record = runs.run_record(reporting, version)
    assert record["version"] == version and record["run"]["env"] == "tiny"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert record["code"]["commit"] == head and isinstance(record["code"]["dirty"], bool)
    expected = yaml.safe_load((conf / "base/parameters_listening.yml").read_text())["listening"]["bpr"]["factors"]
    assert record["parameters"]["listening"]["bpr"]["factors"] == expected
    assert record["parameters"]["audio"]["train"]["max_epochs"] == FAST_AUDIO["audio"]["train"]["max_epochs"]
    model = record["outputs"]["audio_model"]
    kept = Path(model["kept_as"])
    assert kept.is_file() and kept.parent == tmp_path / "data/09_runs/tiny/objects"
    assert (
        torch.load(kept, weights_only=True)["architecture"]
        == torch.load(model["path"], weights_only=True)["architecture"]
    )
    assert {"audio_scores", "hybrid_scores", "track_vectors"} <= set(record["outputs"])
    assert runs.main(["--reporting", str(reporting), "--show", version]) == 0
    shown = capsys.readouterr().out
    assert head in shown and "audio_model.pt" in shown and str(kept) in shown
    other = copy.deepcopy(record)
    other["parameters"]["listening"]["bpr"]["factors"] = expected + 1
    other["outputs"]["audio_model"]["sha256"] = "0" * 64
    diff = runs.differences(record, other)
    assert set(diff["name"]) == {"listening.bpr.factors", "audio_model"}
    assert diff.set_index("name").loc["listening.bpr.factors", "b"] == expected + 1


def test_hybrid_generates_then_ingests_the_demo(tiny_run, monkeypatch):
    tmp_path, conf = tiny_run

    manifest = json.loads((tmp_path / "data/01_raw/tiny/.demo_world.json").read_text())
    report = json.loads((tmp_path / "data/08_reporting/tiny/ingestion_report.json").read_text())
    assert report["source"] == "demo"
    assert report["splits"]["split_sizes"] == {"train": 60, "valid": 12, "test": 24}
    without_audio = report["audio"]["tracks_without_audio"]
    assert [t["track_id"] for t in without_audio["empty"]] == manifest["flaws"]["zero_byte"]
    assert [t["track_id"] for t in without_audio["missing"]] == manifest["flaws"]["missing"]
    assert report["songs"]["pairs_dropped_sid_mismatch"] == 2
    assert report["songs"]["pairs_kept_manually_accepted"] == 1
    assert report["plays"]["repeated_user_song_rows_merged"] == 5
    assert report["plays"]["rows_dropped"]["song_track_mismatch"] > 0

    primary = tmp_path / "data/03_primary/tiny"
    tracks = pd.read_parquet(primary / "tracks.parquet")
    labels = pd.read_parquet(primary / "tag_labels.parquet")
    plays = pd.read_parquet(primary / "plays.parquet")
    assert labels.columns[1:].tolist()[:3] == ["rock", "pop", "alternative"] and len(labels) == 96
    dropped = report["tags"]["dropped_tags_without_training_positive"]  # the tiny world misses a few tags in train
    assert labels.shape[1] - 1 + len(dropped) == 50 and all(
        report["tags"]["positives_per_tag"]["train"][t] == 0 for t in dropped
    )
    in_splits = tracks[tracks["split"] != "none"]
    assert labels["track_id"].tolist() == in_splits["track_id"].tolist() and len(in_splits) == 96
    assert set(tracks.loc[tracks["split"] == "none", "track_id"]) <= set(
        pd.read_parquet(primary / "id_maps/tracks.parquet")["id"]
    )  # the other tracks of the catalogue: those with plays
    assert plays[["user_idx", "track_idx"]].duplicated().sum() == 0
    assert (plays["play_count"] >= 1).all()
    for mismatched in manifest["mismatched_tracks"]:
        assert mismatched not in set(
            pd.read_parquet(primary / "id_maps/tracks.parquet")["id"][plays["track_idx"].unique()]
        )

    features = json.loads((tmp_path / "data/08_reporting/tiny/feature_report.json").read_text())
    assert [d["track_id"] for d in features["damaged"]["zero_byte"]] == manifest["flaws"]["zero_byte"]
    assert [d["track_id"] for d in features["damaged"]["truncated"]] == manifest["flaws"]["truncated"]
    metrics = json.loads((tmp_path / "data/08_reporting/tiny/audio_metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n_tracks_scored"] == 24
    assert 0.0 <= metrics["roc_auc_macro"] <= 1.0
    scores = pd.read_parquet(tmp_path / "data/07_model_output/tiny/audio_scores.parquet")
    assert len(scores) == 96 - 3 and scores.columns[1:].tolist() == labels.columns[1:].tolist()  # 3 damaged clips
    assert (tmp_path / "data/08_reporting/tiny/audio_model_training_curves.png").stat().st_size > 0
    (table_md,) = (tmp_path / "data/08_reporting/tiny/table_1.md").glob("*/table_1.md")  # versioned
    assert "| MF-centroids |" in table_md.read_text() and "| Hybrid |" in table_md.read_text()
    for figure in ("figure_1_tsne.png", "figure_1_tsne_grid.png"):
        assert (tmp_path / "data/08_reporting/tiny" / figure).stat().st_size > 0
    agreement = json.loads((tmp_path / "data/08_reporting/tiny/figure_1_tag_agreement.json").read_text())
    assert agreement["k"] == 10 and "Hip-Hop" in agreement["tags"]
    vectors = pd.read_parquet(tmp_path / "data/06_models/tiny/track_vectors.parquet")
    assert vectors.loc[vectors["cold"], "f000"].isna().all() and vectors.loc[~vectors["cold"], "f000"].notna().all()

    # Beyond the paper: every scorer in the extended table, fusion fitted on validation.
    (extended,) = (tmp_path / "data/08_reporting/tiny/extended_table.json").glob("*/extended_table.json")
    record = json.loads(extended.read_text())
    assert [r["scorer"] for r in record["rows"]] == [s.name for s in SCORERS]
    assert record["best_fused"] in {s.name for s in SCORERS if s.kind == "fused"} and all(
        0.0 <= r["roc_auc"] <= 1.0 for r in record["rows"]
    )
    weights = json.loads((tmp_path / "data/07_model_output/tiny/fusion_classifier_weights.json").read_text())
    assert weights["fitted_on"] == "valid" and weights["tracks"] <= 12
    cold = pd.read_csv(tmp_path / "data/08_reporting/tiny/cold_start_metrics.csv")
    assert cold["bin"].iloc[0] == "0" and cold["tracks"].drop_duplicates().sum() <= 24
    assert (tmp_path / "data/08_reporting/tiny/cold_start.png").stat().st_size > 0
    playlists = pd.read_csv(tmp_path / "data/08_reporting/tiny/tag_playlists.csv")
    assert set(playlists["tag"]) == {"Hip-Hop", "jazz", "80s", "00s", "party"}

    # Intervals on every claim, and the tagged catalogue: the tracks outside the splits
    # with plays only are tagged from listening.
    for row in record["rows"]:
        assert row["roc_auc_low"] <= row["roc_auc"] <= row["roc_auc_high"]
        assert row["pr_auc_low"] <= row["pr_auc"] <= row["pr_auc_high"]
    assert "Brackets: the 95 % interval" in table_md.read_text()
    catalogue = pd.read_parquet(tmp_path / "data/07_model_output/tiny/catalogue_tags.parquet")
    evidence = catalogue.drop_duplicates("track_id").set_index("track_id")["evidence"].astype(str)
    outside = tracks.loc[tracks["split"] == "none", "track_id"]
    assert set(evidence.reindex(outside)) == {"listening"}  # plays, no audio: the demo world's extra tracks
    assert set(evidence.index) >= set(scores["track_id"])  # every track with audio
    assert (tmp_path / "data/08_reporting/tiny/catalogue_report.md").read_text().startswith("# The tagged catalogue")

    # tag_audio on a folder of the world's clips plus a broken file: same probabilities
    # as the pipeline's own scoring, the broken file reported.
    new = tmp_path / "new_audio"
    new.mkdir()
    clips = sorted((tmp_path / "data/01_raw/tiny/audio").rglob("*.mp3"))
    sample = [c for c in clips if c.stem in set(scores["track_id"])][:3]
    for clip in sample:
        shutil.copy(clip, new / clip.name)
    (new / "broken.mp3").write_text("<html>not audio</html>")
    _run(
        conf,
        "tiny",
        tmp_path,
        monkeypatch,
        pipeline="tag_audio",
        params={"tag_audio": {"input_dir": str(new), "top_k": 3, "model": "trained"}},
    )
    tagged = pd.read_csv(tmp_path / "data/07_model_output/tiny/tag_audio.csv").set_index("file")
    assert tagged.loc["broken.mp3", "status"] == "not_audio" and pd.isna(tagged.loc["broken.mp3", "tag_1"])
    by_track = scores.set_index("track_id")
    for clip in sample:
        row = tagged.loc[clip.name]
        assert row["status"] == "ok" and row["tag_3"] in by_track.columns
        assert row["probability_1"] == pytest.approx(by_track.loc[clip.stem, row["tag_1"]], abs=1e-4)
        assert row["probability_1"] == pytest.approx(by_track.loc[clip.stem].max(), abs=1e-4)
    report = json.loads((tmp_path / "data/08_reporting/tiny/tag_audio_report.json").read_text())
    assert report["files"] == 4 and report["tagged"] == 3 and report["statuses"]["not_audio"] == 1

    # A second run finds the world in place and does not redraw it.
    before = (tmp_path / "data/01_raw/tiny/.demo_world.json").stat().st_mtime_ns
    _run(conf, "tiny", tmp_path, monkeypatch)
    assert (tmp_path / "data/01_raw/tiny/.demo_world.json").stat().st_mtime_ns == before


def test_notebook_executes_on_the_run_outputs(tiny_run, monkeypatch):
    """notebooks/explore.ipynb, executed top to bottom in a real kernel on the tiny run."""
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    tmp_path, conf = tiny_run
    monkeypatch.setenv("KEDRO_ENV", "tiny")
    monkeypatch.setenv("MSD_CONF_SOURCE", str(conf))
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    notebook = nbformat.read(REPO / "notebooks/explore.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "'tiny'" in text and "Hybrid" in text and "fusion_classifier" in text and "AtomicDataset" in text
    assert notebook.metadata.kernelspec.name == "kedro_msd_tagging"  # the kernel `kedro jupyter` registers
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the t-SNE re-plot


def test_msd_env_reads_a_generator_written_folder(tiny_root, tmp_path, monkeypatch):
    """conf/msd with its one base path edited runs the same readers on MSD-format files."""
    msd_globals = yaml.safe_load((REPO / "conf/msd/globals.yml").read_text())
    msd_globals.update(raw_root=str(tiny_root), data_root=str(tmp_path / "data"), splits={"n_train": TINY["n_train"]})
    conf = _conf(tmp_path, {"msd": {"globals.yml": msd_globals}})
    # paper-scale training would take hours on 1-s clips; shrink it in the copy
    msd_audio = yaml.safe_load((REPO / "conf/msd/parameters_audio.yml").read_text())
    for section, values in FAST_AUDIO["audio"].items():
        msd_audio["audio"].setdefault(section, {}).update(values)
    (conf / "msd" / "parameters_audio.yml").write_text(yaml.safe_dump(msd_audio))
    before = {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")}
    _run(conf, "msd", tmp_path, monkeypatch)

    report = json.loads((tmp_path / "data/08_reporting/msd/ingestion_report.json").read_text())
    assert report["source"] == "demo"  # the record the generator left, read back
    assert report["splits"]["split_sizes"] == {"train": 60, "valid": 12, "test": 24}
    assert {"empty", "missing"} <= set(report["audio"]["tracks_without_audio"])
    assert {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")} == before  # raw data untouched


def test_msd_env_names_missing_raw_files(tmp_path, monkeypatch):
    empty = tmp_path / "msd_root"
    empty.mkdir()
    msd_globals = yaml.safe_load((REPO / "conf/msd/globals.yml").read_text())
    msd_globals.update(raw_root=str(empty), data_root=str(tmp_path / "data"))
    conf = _conf(tmp_path, {"msd": {"globals.yml": msd_globals}})
    with pytest.raises(MSDDataError, match=r"raw MSD files missing under .*taste_profile/train_triplets\.txt"):
        _run(conf, "msd", tmp_path, monkeypatch)
    assert not any(empty.iterdir())  # nothing generated over a user's folder


def test_registering_pipelines_imports_no_heavy_library():
    """kedro commands (and kedro-viz) import every pipeline: keep them fast."""
    import subprocess

    code = (
        "import sys; from msd_tagging.pipeline_registry import register_pipelines; register_pipelines(); "
        "print(','.join(m for m in ('torch', 'librosa', 'implicit', 'openTSNE', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.bad_input
def test_a_feature_store_deleted_half_way_recovers_on_rerun(tiny_run, monkeypatch):
    """``rm -rf`` of the store interrupted half-way: some shards lose their features, some
    their manifest part. Rerunning the same command redoes exactly those, same scores."""
    tmp_path, conf = tiny_run
    shards = tmp_path / "data/04_feature/tiny/logmel/shards"
    scores_path = tmp_path / "data/07_model_output/tiny/audio_scores.parquet"
    before = pd.read_parquet(scores_path)
    files = sorted(shards.iterdir())
    assert len(files) >= 4
    for victim in files[: len(files) // 2]:
        victim.unlink()
    _run(conf, "tiny", tmp_path, monkeypatch)
    report = json.loads((tmp_path / "data/08_reporting/tiny/feature_report.json").read_text())
    assert report["with_features"] == len(before)  # every scored track has features again
    assert not [p for p in shards.iterdir() if p.suffix == ".parquet" and not p.with_suffix(".npy").exists()]
    pd.testing.assert_frame_equal(pd.read_parquet(scores_path), before)


def test_unique_tracks_is_parsed_once_per_run(tiny_root, tmp_path, monkeypatch):
    """Three nodes read unique_tracks (1M lines on the MSD); the file is parsed once."""
    from msd_tagging.datasets import msd_files

    calls = []
    real = msd_files.READERS["unique_tracks"]
    monkeypatch.setitem(msd_files.READERS, "unique_tracks", lambda path: calls.append(path) or real(path))
    env = _tiny_env(tmp_path)
    env["globals.yml"]["raw_root"] = str(tiny_root)
    conf = _conf(tmp_path, {"tiny": env})
    _run(conf, "tiny", tmp_path, monkeypatch, pipeline="ingestion")
    assert len(calls) == 1


def test_a_tiny_rehearsal_world_at_the_msd_shape_is_ingested(tmp_path, monkeypatch):
    """The rehearsal generator (benchmarks/msd_scale.py draws it at full size) writes files
    the same readers ingest, through the scale env."""
    from msd_tagging.demo.rehearsal import RehearsalConfig, write_rehearsal

    config = RehearsalConfig(scale=0.001, clip_pool=10, clip_seconds=1.0)
    raw = tmp_path / "raw"
    write_rehearsal(config, raw)
    scale_globals = yaml.safe_load((REPO / "conf/scale/globals.yml").read_text())
    scale_globals.update(
        raw_root=str(raw), data_root=str(tmp_path / "data"), splits={"n_train": config.count("n_train")}
    )
    conf = _conf(tmp_path, {"scale": {"globals.yml": scale_globals}})
    _run(conf, "scale", tmp_path, monkeypatch, pipeline="ingestion")
    report = json.loads((tmp_path / "data/08_reporting/scale/ingestion_report.json").read_text())
    assert report["splits"]["split_sizes"] == {"train": 202, "valid": 12, "test": 28}
    assert report["plays"]["rows_read"] == config.count("n_triplets")
    assert report["tags"]["lastfm_rows_read"] == config.count("n_tid_tag")
    assert report["audio"]["audio_status"] == {"ok": 242}
    from msd_tagging.demo.rehearsal import vocabulary_shares
    from msd_tagging.demo.world import MSD_50_TAGS

    positives = report["tags"]["positives_per_tag"]
    for tag in ("rock", "jazz", "Hip-Hop"):  # Last.fm's density on the split tracks
        share = vocabulary_shares()[MSD_50_TAGS.index(tag)]
        assert sum(positives[s][tag] for s in ("train", "valid", "test")) == max(1, round(share * 242))


def test_the_hybrid_runs_on_a_pretrained_msd_tagger_without_training(tmp_path, monkeypatch):
    """``audio.model_source: msd_vgg`` (conf/msd documents it): the audio side scores with
    musicnn's MSD_vgg, converted; nothing is trained, and every later stage runs."""
    env = _tiny_env(tmp_path)
    env["parameters_audio.yml"]["audio"]["model_source"] = "msd_vgg"
    conf = _conf(tmp_path, {"tiny": env})
    _run(conf, "tiny", tmp_path, monkeypatch)
    run = tmp_path / "data"
    # The pretrained sub-pipeline: no training node, so no history, curves or training state.
    assert not list((run / "08_reporting").rglob("audio_model_training_history.csv"))
    assert not list((run / "06_models").rglob("audio_model_checkpoint.pt"))
    model = torch.load(next((run / "06_models").rglob("audio_model.pt")), weights_only=True)
    assert model["architecture"] == "musicnn_vgg" and model["provenance"]["source"].startswith("musicnn")
    scores = pd.read_parquet(next((run / "07_model_output").rglob("audio_scores.parquet")))
    tags = pd.read_parquet(run / "03_primary/tiny/tag_labels.parquet").columns
    assert scores.columns.tolist() == tags.tolist() and scores.drop(columns="track_id").std().gt(0).any()
    assert list((run / "08_reporting").rglob("table_1.json"))


def _catalogue_env(tmp_path: Path, run_name: str, **ingestion) -> dict[str, dict]:
    """conf/catalogue with the tiny world's globals, parameters and fast audio."""
    env = {name: yaml.safe_load((REPO / "conf/catalogue" / name).read_text()) for name in ("globals.yml",)}
    raw = tmp_path / "data/01_raw" / run_name
    env["globals.yml"].update(
        data_root=str(tmp_path / "data"), run_name=run_name, raw_root=str(raw), splits={"n_train": TINY["n_train"]}
    )
    env["globals.yml"]["tables"] = {
        k: str(raw / Path(v).name) for k, v in env["globals.yml"]["tables"].items()
    }  # the interpolation of raw_root, resolved here
    ingestion_yml = yaml.safe_load((REPO / "conf/catalogue/parameters_ingestion.yml").read_text())
    ingestion_yml["ingestion"].update(ingestion)
    world = {k: v for k, v in TINY.items() if k != "n_train"}
    return {
        **env,
        "parameters_ingestion.yml": ingestion_yml,
        "parameters_demo_data.yml": {"demo_data": {**world, "generate": True}},
        "parameters_audio.yml": copy.deepcopy(FAST_AUDIO),
        "catalog.yml": yaml.safe_load((REPO / "conf/catalogue/catalog.yml").read_text()),
    }


def test_the_demo_world_as_tables_gives_the_msd_formats_results(tiny_run, tmp_path, monkeypatch):
    """The same tiny world, written as plain tables with its own split and the MSD's 50 tags
    (untagged tracks as negatives, as the MSD's split has them): every primary table,
    score and table of results equals the MSD-format run's."""
    from msd_tagging.demo.world import MSD_50_TAGS

    msd_path, _ = tiny_run
    env = _catalogue_env(tmp_path, "tinycat", vocabulary={"tags": list(MSD_50_TAGS)}, untagged="negative")
    conf = _conf(tmp_path, {"catalogue": env})
    _run(conf, "catalogue", tmp_path, monkeypatch)
    tables, msd = tmp_path / "data", msd_path / "data"
    assert (tmp_path / "data/01_raw/tinycat/tracks.csv").is_file()  # the example was drawn as tables
    for name in ("tag_labels", "plays"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tables / f"03_primary/tinycat/{name}.parquet"),
            pd.read_parquet(msd / f"03_primary/tiny/{name}.parquet"),
        )
    ours, theirs = (
        pd.read_parquet(d / "03_primary" / r / "tracks.parquet") for d, r in ((tables, "tinycat"), (msd, "tiny"))
    )
    columns = ["track_id", "artist", "title", "split"]
    in_splits = [t[t["split"] != "none"][columns].reset_index(drop=True) for t in (ours, theirs)]
    pd.testing.assert_frame_equal(*in_splits)
    assert set(theirs["track_id"]) <= set(ours["track_id"])  # the tables list every catalogue track
    for name in ("audio_scores", "mf_scores", "hybrid_scores"):
        a, b = (
            pd.read_parquet(d / f"07_model_output/{r}/{name}.parquet").sort_values("track_id", ignore_index=True)
            for d, r in ((tables, "tinycat"), (msd, "tiny"))
        )
        pd.testing.assert_frame_equal(a, b)
    for table in ("table_1", "extended_table"):
        a = sorted((tables / f"08_reporting/tinycat/{table}.json").glob(f"*/{table}.json"))[-1]
        b = sorted((msd / f"08_reporting/tiny/{table}.json").glob(f"*/{table}.json"))[-1]  # others rerun tiny
        assert json.loads(a.read_text())["rows"] == json.loads(b.read_text())["rows"]
    assert (tables / "08_reporting/tinycat/figure_1_tsne.png").stat().st_size > 0


def test_the_catalogue_env_makes_an_artist_disjoint_split_and_its_own_vocabulary(tmp_path, monkeypatch):
    """Without a split column: a seeded split in which no artist spans two splits, reported
    with its tag balance; the vocabulary is the most frequent tags. Table 1, the extended
    table and Figure 1 come out."""
    env = _catalogue_env(tmp_path, "madecat", vocabulary={"top_n": 20})
    conf = _conf(tmp_path, {"catalogue": env})
    # Draw the example, then drop its split column: a catalogue without a split.
    from msd_tagging.demo.world import DemoWorldConfig, build_world
    from msd_tagging.demo.writer import write_catalogue

    raw = Path(env["globals.yml"]["raw_root"])
    write_catalogue(build_world(DemoWorldConfig(**TINY)), raw, workers=1, progress=False)
    tracks = pd.read_csv(raw / "tracks.csv", dtype=str)
    tracks.drop(columns="split").to_csv(raw / "tracks.csv", index=False)
    _run(conf, "catalogue", tmp_path, monkeypatch)
    run = tmp_path / "data"
    split = pd.read_parquet(run / "03_primary/madecat/tracks.parquet")
    split = split[split["split"] != "none"]  # the catalogue's other tracks are tagged, not split
    assert split.groupby("artist")["split"].nunique().max() == 1  # no artist in two splits
    heard = [p.stem for p in (raw / "audio").glob("*.mp3")]
    assert set(split["split"]) == {"train", "valid", "test"}
    report = json.loads((run / "08_reporting/madecat/ingestion_report.json").read_text())
    assert report["splits"]["split_made"] and report["splits"]["balance"]["artists_in_several_splits"] == 0
    assert set(report["splits"]["balance"]["tags_short_of_positives"]) == {"train", "valid", "test"}
    vocabulary = json.loads((run / "03_primary/madecat/vocabulary.json").read_text())
    assert len(vocabulary) == 20 and "rock" in vocabulary

    rows = pd.read_csv(raw / "tags.csv", dtype=str)
    tagged = set(rows["track_id"])  # any crowd tag, in the vocabulary or not
    assert sorted(split["track_id"]) == sorted(set(heard) & tagged)  # unlabelled tracks stay out of the split
    for name in ("table_1", "extended_table"):
        assert list((run / f"08_reporting/madecat/{name}.json").glob(f"*/{name}.json"))
    assert (run / "08_reporting/madecat/figure_1_tsne.png").stat().st_size > 0


def test_a_vocabulary_that_is_not_the_msds_runs_end_to_end(tmp_path, monkeypatch):
    """A catalogue whose tags share no name with the MSD's (every tag renamed): the
    figures, the agreement and the playlists take the vocabulary's first tags instead of
    the configured MSD ones, and every report comes out."""
    from msd_tagging.demo.world import DemoWorldConfig, build_world
    from msd_tagging.demo.writer import write_catalogue

    env = _catalogue_env(tmp_path, "renamedcat", vocabulary={"top_n": 12})
    conf = _conf(tmp_path, {"catalogue": env})
    raw = Path(env["globals.yml"]["raw_root"])
    write_catalogue(build_world(DemoWorldConfig(**TINY)), raw, workers=1, progress=False)
    tags = pd.read_csv(raw / "tags.csv", dtype=str, keep_default_na=False)
    names = {t: f"label {i:02d}" for i, t in enumerate(dict.fromkeys(tags["tag"]))}
    tags.assign(tag=tags["tag"].map(names)).to_csv(raw / "tags.csv", index=False)
    _run(conf, "catalogue", tmp_path, monkeypatch)
    reporting = tmp_path / "data/08_reporting/renamedcat"
    vocabulary = json.loads((tmp_path / "data/03_primary/renamedcat/vocabulary.json").read_text())
    assert all(t.startswith("label ") for t in vocabulary)
    playlists = pd.read_csv(reporting / "tag_playlists.csv")
    assert len(playlists) and set(playlists["tag"]) <= set(vocabulary)
    agreement = json.loads((reporting / "figure_1_tag_agreement.json").read_text())
    assert set(agreement["tags"]) <= set(vocabulary) and agreement["tags"]
    for name in ("figure_1_tsne.png", "catalogue_precision_recall.png", "cold_start.png"):
        assert (reporting / name).stat().st_size > 0
    assert list((reporting / "extended_table.json").glob("*/extended_table.json"))


@pytest.mark.bench_smoke
def test_a_two_point_sensitivity_sweep_on_the_tiny_world(tiny_run, tmp_path, monkeypatch):
    """benchmarks/sensitivity.py: the default point is a plain run (its Table 1 is the tiny
    run's); a listening-only point reuses the default's clips and trained VGG; every point
    runs once per seed, and the table shows the mean with the seeds' range."""
    sensitivity = load_script("benchmarks/sensitivity.py")
    world = {k: v for k, v in TINY.items() if k != "n_train"}
    overrides = {
        "globals.yml": {"splits": {"n_train": TINY["n_train"]}},
        "parameters_demo_data.yml": {"demo_data": world},
        "parameters_audio.yml": copy.deepcopy(FAST_AUDIO),
    }
    (tmp_path / "overrides.yml").write_text(yaml.safe_dump(overrides))
    frame = sensitivity.main(
        ["--knobs", "scene_strength=1,0.5", "--seeds", "0,1", "--scratch", str(tmp_path / "scratch"), "--params-file",
         str(tmp_path / "overrides.yml"), "--out", str(tmp_path / "out" / "sensitivity")]
    )  # fmt: skip
    assert frame["knob"].tolist() == ["default", "scene_strength"] * 2 and frame["value"].iloc[1] == 0.5
    assert frame["seed"].tolist() == [0, 0, 1, 1]
    assert frame.iloc[2]["vgg_roc_auc"] != frame.iloc[0]["vgg_roc_auc"]  # another world, another training
    assert frame.iloc[3]["reused"] == "clips; trained VGG"  # from its own seed's default
    expected = sorted((tiny_run[0] / "data/08_reporting/tiny/table_1.json").glob("*/table_1.json"))[-1]
    assert frame.iloc[0]["table_1"] == {
        r["method"]: (r["roc_auc"], r["pr_auc"]) for r in json.loads(expected.read_text())["rows"]
    }
    assert frame.iloc[0]["reused"] == "" and frame.iloc[1]["reused"] == "clips; trained VGG"
    assert frame.iloc[1]["vgg_roc_auc"] == frame.iloc[0]["vgg_roc_auc"]  # same audio, same tagger
    assert frame.iloc[1]["mf_roc_auc"] != frame.iloc[0]["mf_roc_auc"]  # other listening
    csv = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    assert "2 seeds" in (tmp_path / "out" / "sensitivity.md").read_text()
    assert len(csv) == 4 and {"hybrid_roc_auc_gain", "best_fusion_pr_auc_gain", "mf_classifier_pr_auc_gain"} <= set(csv)
    assert (tmp_path / "out" / "sensitivity.png").stat().st_size > 0


def test_a_plain_session_running_another_envs_source_is_stopped_before_anything(tmp_path, monkeypatch):
    """The project's session picks the env's head; a plain KedroSession asked for `hybrid`
    (the MSD head) in the catalogue env is stopped by name before a file is drawn."""
    from msd_tagging.core.errors import ParameterError

    conf = _conf(tmp_path, {"catalogue": _catalogue_env(tmp_path, "wronghead")})
    monkeypatch.chdir(tmp_path)
    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO, env="catalogue", conf_source=str(conf)) as session:
        with pytest.raises(ParameterError, match=r"ingestion.source: the env reads 'tables' raw data, .*'msd'"):
            session.run(pipeline_names=["hybrid"])
    assert not (tmp_path / "data/01_raw/wronghead").exists()


HOSTILE_TAGS = ["NA", "None", "null", "100", "007", '=HYPERLINK("http://evil.example/","click")', "a|b",
                "<script>x</script>"]  # fmt: skip


def test_tags_named_na_or_numbers_formulas_and_padded_ids_keep_their_decisions(tmp_path, monkeypatch):
    """Issue 29: a catalogue whose most frequent tags are named NA, None, null, 100, 007, a
    formula, a pipe and HTML, with zero-padded track IDs, through hybrid: every tag keeps
    its decisions, the report renders escaped, no CSV cell starts a formula."""
    import csv

    from msd_tagging.demo.world import DemoWorldConfig, build_world
    from msd_tagging.demo.writer import write_catalogue

    env = _catalogue_env(tmp_path, "hostile", vocabulary={"top_n": 12})
    env["parameters_tagging.yml"] = {"tagging": {"threshold": "f1", "min_positives": 1}}  # decisions on a tiny world
    conf = _conf(tmp_path, {"catalogue": env})
    raw = Path(env["globals.yml"]["raw_root"])
    write_catalogue(build_world(DemoWorldConfig(**TINY)), raw, workers=1, progress=False)
    tables = {
        name: pd.read_csv(raw / f"{name}.csv", dtype=str, keep_default_na=False) for name in ("tracks", "tags", "plays")
    }
    ids = {t: f"{i:06d}" for i, t in enumerate(tables["tracks"]["track_id"])}
    names = dict(zip(tables["tags"]["tag"].value_counts().index[: len(HOSTILE_TAGS)], HOSTILE_TAGS, strict=True))
    for name, table in tables.items():
        table = table.assign(track_id=table["track_id"].map(ids))
        if name == "tags":
            table = table.assign(tag=table["tag"].map(lambda t: names.get(t, t)))
        if name == "tracks":
            table.loc[0, "artist"] = "=cmd|' /C calc'!A0"
        table.to_csv(raw / f"{name}.csv", index=False)
    for old, new in ids.items():
        if (raw / "audio" / f"{old}.mp3").exists():  # tracks without audio have plays only
            (raw / "audio" / f"{old}.mp3").rename(raw / "audio" / f"{new}.mp3")
    _run(conf, "catalogue", tmp_path, monkeypatch)
    output, reporting = tmp_path / "data/07_model_output/hostile", tmp_path / "data/08_reporting/hostile"
    vocabulary = json.loads((tmp_path / "data/03_primary/hostile/vocabulary.json").read_text())
    assert set(HOSTILE_TAGS) <= set(vocabulary)
    thresholds = pd.read_parquet(output / "tag_decisions.parquet")
    long = pd.read_parquet(output / "catalogue_tags.parquet")
    decided = thresholds[thresholds["decided"]]
    assert set(decided["tag"]) & set(HOSTILE_TAGS[:5]), "no NA-like tag was decided anywhere"
    for row in decided.itertuples():  # a threshold is applied to every track of its class, whatever the tag is named
        mine = long[(long["tag"] == row.tag) & (long["evidence"] == row.evidence)]
        assert len(mine) and mine["decided"].notna().all(), (row.evidence, row.tag)
    assert long["track_id"].astype(str).str.fullmatch(r"\d{6}").all()
    report = (reporting / "catalogue_report.md").read_text()
    assert "<script>" not in report and "&lt;script&gt;" in report
    for path in [p for p in (*output.rglob("*.csv"), *reporting.rglob("*.csv")) if p.is_file()]:
        with open(path, newline="") as handle:
            for cells in csv.reader(handle):
                for cell in cells:
                    assert not (cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(cell)), (path.name, cell)
    top = pd.read_csv(output / "catalogue_top_tags.csv", dtype=str, keep_default_na=False)
    assert top["track_id"].str.fullmatch(r"\d{6}").all() and "'=cmd|' /C calc'!A0" in set(top["artist"])


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
