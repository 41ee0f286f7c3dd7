"""What a run prints when nobody watches a terminal: CI logs, pipes, `kedro run > run.log`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.test_run import REPO, _conf, _tiny_env

pytestmark = pytest.mark.slow

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
