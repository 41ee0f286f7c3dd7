"""What a run prints when nobody watches a terminal: CI logs, pipes, `kedro run > run.log`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.test_run import REPO, _conf, _tiny_env

pytestmark = pytest.mark.e2e

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+: ")


def test_a_run_logged_without_a_terminal_has_unwrapped_lines_and_no_library_noise(tmp_path):
    """Through feature extraction of the tiny world, whose truncated MP3 makes libmpg123
    write to stderr: every line is one whole log record, long ones included."""
    conf = _conf(tmp_path, {"tiny": _tiny_env(tmp_path)})
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": ""}
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "tiny", "--conf-source", str(conf), "--pipeline=hybrid", "--to-nodes=feature_report"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) > 10
    assert [line for line in lines if not RECORD.match(line)] == []  # no continuation line: nothing wrapped
    assert max(len(line) for line in lines) > 120  # long records stayed whole
    for noise in ("Warning: Xing", "UserWarning", "DeprecationWarning", "FutureWarning"):
        assert noise not in done.stdout + done.stderr
    report = json.loads((tmp_path / "data/08_reporting/tiny/feature_report.json").read_text())
    said = report["decoder_messages"]  # what libmpg123 said is in the report instead
    assert said["count"] >= 1 and said["files"][0]["message"].startswith("decoder: ")


def test_a_run_logged_to_a_file_shows_progress_while_long_steps_run(tmp_path):
    """Heartbeats outside a terminal: every step with a Progress says items done, rate and
    time left, and every node says it is still running (here every 0.05 s and 0.075 s,
    instead of 30 s and 45 s: on a fast machine the tiny world's extraction takes well under
    half a second), so no step of a real run is silent for more than a minute."""
    conf = _conf(tmp_path, {"tiny": _tiny_env(tmp_path)})
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MSD_TAGGING_HEARTBEAT_SECONDS": "0.05"}
    with open(tmp_path / "run.log", "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "kedro", "run", "--env", "tiny", "--conf-source", str(conf), "--pipeline=hybrid",
             "--to-nodes=train_tagger"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=600,
        )  # fmt: skip
    text = (tmp_path / "run.log").read_text()
    assert done.returncode == 0, text[-3000:]
    assert re.search(r"node \S+: still running after \d+ s", text), text[-3000:]
    assert re.search(r"demo audio: \d+ of \d+ clips \(\d+%\), [\d.e+]+ clips/s", text), text[-3000:]
    assert re.search(r"log-mel: \d+ of \d+ tracks", text)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_rehearsal_worlds_figures_say_their_data_are_random():
    """conf/scale's figures.note reaches every figure node, and is drawn at the foot."""
    import pandas as pd
    from kedro.config import OmegaConfigLoader

    from msd_tagging import settings
    from msd_tagging.params import FiguresParams, ListeningParams
    from msd_tagging.pipeline_registry import register_pipelines
    from msd_tagging.pipelines.listening.nodes import plot_factorisation_curve

    loader = OmegaConfigLoader(str(REPO / "conf"), env="scale", **settings.CONFIG_LOADER_ARGS)
    note = loader["parameters"]["figures"]["note"]
    assert "random" in note.lower()
    assert (
        loader.__class__(str(REPO / "conf"), env="base", **settings.CONFIG_LOADER_ARGS)["parameters"]["figures"]["note"]
        == ""
    )
    figures = {"plot_factorisation_curve", "cold_start", "plot_training", "catalogue_report", "tsne_figures"}
    nodes = {n.name: n for n in register_pipelines()["hybrid"].nodes}
    assert all("params:figures" in nodes[name].inputs for name in figures)
    curve = pd.DataFrame({"iteration": [1, 2], "heldout_auc": [0.50, 0.49]})
    fig = plot_factorisation_curve(curve, ListeningParams(), FiguresParams(note=note))
    assert note in [t.get_text() for t in fig.texts]
