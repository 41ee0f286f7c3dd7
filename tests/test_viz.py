"""kedro-viz: the lineage builds as a static site, with our layers and named nodes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


def test_kedro_viz_build_exports_the_lineage(tmp_path):
    pytest.importorskip("kedro_viz")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf/local").mkdir()
    (project / "docs").mkdir()
    shutil.copy(REPO / "docs/viz_site.py", project / "docs")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONWARNINGS": "error::DeprecationWarning:msd_tagging"}
    # make viz-site: kedro viz build, then the machine's absolute paths taken out
    done = subprocess.run(
        [sys.executable, "docs/viz_site.py"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (project / "build/index.html").is_file()
    leaks = [p for p in (project / "build").rglob("*") if p.is_file() and str(project).encode() in p.read_bytes()]
    assert leaks == []  # nothing of the builder's machine is published
    main = json.loads((project / "build/api/main").read_text())
    assert main["layers"] == ["raw", "primary", "feature", "models", "model_output", "reporting"]  # in order: no cycle
    tasks = {n["name"] for n in main["nodes"] if n["type"] == "task"}
    assert {"extract_features", "train_tagger", "factorise_plays", "table_1", "draw_world"} <= tasks or {
        "extract_features", "train_tagger", "factorise_plays", "table_1"} <= tasks  # fmt: skip
    pipelines = {p.name for p in (project / "build/api/pipelines").iterdir()}
    assert {"hybrid", "method", "scoring", "reporting", "evaluation", "tag_audio", "listening"} <= pipelines
    method = json.loads((project / "build/api/pipelines/method").read_text())
    assert {"extract_features", "train_tagger", "factorise_plays", "table_1"} <= {n["name"] for n in method["nodes"]}
    tag_audio = json.loads((project / "build/api/pipelines/tag_audio").read_text())
    assert "tag_audio_files" in {n["name"] for n in tag_audio["nodes"]}
    datasets = {n["name"]: n for n in main["nodes"] if n["type"] == "data"}
    assert datasets["table_1"]["layer"] == "reporting" and datasets["audio_scores"]["layer"] == "model_output"
