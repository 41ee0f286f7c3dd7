"""What a benchmark's results say they were run at, and on which machine."""

from __future__ import annotations

import subprocess

from msd_tagging.framework.run_record import RESULTS_FOLDERS, commit_label, git_state, machine_label


def _git(path, *args):
    subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)


def test_the_commit_label_marks_code_changes_but_not_rewritten_results(tmp_path):
    assert commit_label(tmp_path) == "unknown"
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "r.json").write_text("{}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout[:7]
    assert commit_label(tmp_path) == head
    (tmp_path / "benchmarks" / "results" / "r.json").write_text('{"new": 1}\n')
    assert commit_label(tmp_path) == head  # a results file an earlier benchmark rewrote is no code change
    assert git_state(tmp_path, ignore=RESULTS_FOLDERS)["dirty"] is False  # nor for a run's record
    (tmp_path / "code.py").write_text("x = 2\n")
    assert commit_label(tmp_path) == f"{head}+changes"


def test_the_machine_label_names_the_cores_and_python():
    import os
    import platform

    label = machine_label()
    assert f"{os.cpu_count()} cores" in label and f"Python {platform.python_version()}" in label
    assert platform.machine() in label


def test_a_runs_commit_comes_from_its_newest_run_record(tmp_path):
    import json

    from msd_tagging.framework.run_record import recorded_commit

    assert recorded_commit(tmp_path) is None
    for version, code in (("2026-01-01", {"commit": "a" * 40, "dirty": False}),
                          ("2026-02-01", {"commit": "b" * 40, "dirty": True})):  # fmt: skip
        folder = tmp_path / "run_record.json" / version
        folder.mkdir(parents=True)
        (folder / "run_record.json").write_text(json.dumps({"code": code}))
    assert recorded_commit(tmp_path) == "bbbbbbb+changes"
