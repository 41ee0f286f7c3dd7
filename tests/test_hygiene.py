"""Install and run hygiene (issue 24): a silent install, and what `make demo` installs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_the_wheel_builds_without_a_setuptools_warning_and_ships_the_weights(tmp_path):
    pytest.importorskip("setuptools")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert "BuildBackendWarning" not in output and "absent from the `packages`" not in output, output[-3000:]
    (wheel,) = tmp_path.glob("msd_tagging-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("msd_musicnn.pt", "msd_vgg.pt", "NOTICE", "SHA256SUMS"):
        assert f"msd_tagging/models/weights/{name}" in names
    assert not [n for n in names if "credentials" in n]
