"""Shared fixtures: the real MSD format samples and a tiny demo world written to disk."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from msd_tagging.demo.world import DemoWorldConfig, build_world
from msd_tagging.demo.writer import write_world

REPO = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """A script of the repository (``benchmarks/x.py``, ``docs/x.py``) loaded as a module
    under its file's name, registered in ``sys.modules`` (dataclasses look themselves up
    there) and with its folder importable (its sibling modules)."""
    import importlib.util
    import sys

    path = REPO / relative
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


# With the mlflow extra installed, runs are not tracked in tests, except in test_tracking.py.
os.environ.setdefault("MSD_TAGGING_MLFLOW", "0")

SAMPLES = Path(os.environ.get("MSD_SAMPLES", REPO.parent / "shared" / "msd-format-samples"))

# Small enough to draw and render in a few seconds on one core.
TINY = dict(
    seed=7,
    n_train=60,
    n_valid=12,
    n_test=24,
    n_extra=12,
    n_duplicates=6,
    n_users=300,
    n_scenes=6,
    seconds=1.0,
    workers=1,
    n_mismatches=3,
    n_accepted=1,
    repeated_rows=5,
)


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of real MSD file excerpts (``../shared/msd-format-samples``)."""
    if not SAMPLES.is_dir():
        if os.environ.get("MSD_SAMPLES_REQUIRED"):
            pytest.fail(f"MSD format samples not found at {SAMPLES}; set MSD_SAMPLES")
        pytest.skip(f"MSD format samples not found at {SAMPLES}; set MSD_SAMPLES to run these tests")
    return SAMPLES


@pytest.fixture(scope="session")
def tiny_config() -> DemoWorldConfig:
    return DemoWorldConfig(**TINY)


@pytest.fixture(scope="session")
def tiny_world(tiny_config):
    return build_world(tiny_config)


@pytest.fixture(scope="session")
def tiny_root(tiny_world, tmp_path_factory) -> Path:
    """A tiny demo world written in the MSD formats (read-only for tests: copy to modify)."""
    root = tmp_path_factory.mktemp("world") / "raw"
    write_world(tiny_world, root, workers=1, progress=False)
    return root


# The bad-input suite is the list of tests RELIABILITY.md names: one source of truth.
RELIABILITY_TESTS = re.compile(r"`(tests/[\w/]+\.py::test_\w+)`")


def reliability_test_ids() -> set[str]:
    return set(RELIABILITY_TESTS.findall((REPO / "docs" / "reliability.md").read_text()))


def pytest_collection_modifyitems(config, items):
    named = reliability_test_ids()
    for item in items:
        if item.nodeid.split("[")[0] in named:
            item.add_marker(pytest.mark.bad_input)
