"""The raw-data step decides when to draw the demo world."""

from __future__ import annotations

import pytest

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets.demo_world import REQUIRED
from msd_tagging.demo.world import DemoWorld, DemoWorldConfig, RawDataOnDisk
from msd_tagging.demo.writer import LAYOUT
from msd_tagging.pipelines.demo_data.nodes import world_to_draw
from tests.conftest import TINY


def _inventory(present: bool, fingerprint: str | None, replaceable: bool | None = None) -> dict:
    return {
        "root": "/raw",
        "present": {name: present for name in LAYOUT},
        "files": dict(LAYOUT),
        "format": "msd",
        "required": list(REQUIRED["msd"]),
        "manifest": {"source": "demo", "fingerprint": fingerprint} if fingerprint else None,
        "replaceable": bool(fingerprint) or not present if replaceable is None else replaceable,
    }


def test_world_in_place_is_not_redrawn():
    fingerprint = DemoWorldConfig(**TINY).fingerprint()
    assert world_to_draw(_inventory(True, fingerprint), DemoWorldConfig(**TINY)) == RawDataOnDisk("/raw", "demo")


def test_changed_parameters_redraw():
    stale = DemoWorldConfig(**{**TINY, "seed": 99}).fingerprint()
    assert isinstance(world_to_draw(_inventory(True, stale), DemoWorldConfig(**TINY)), DemoWorld)


def test_missing_files_draw():
    assert isinstance(world_to_draw(_inventory(False, None), DemoWorldConfig(**TINY)), DemoWorld)


def test_fingerprint_ignores_worker_count():
    assert (
        DemoWorldConfig(**{**TINY, "workers": 1}).fingerprint()
        == DemoWorldConfig(**{**TINY, "workers": 8}).fingerprint()
    )


def test_real_data_is_never_generated():
    assert world_to_draw(_inventory(True, None), DemoWorldConfig(generate=False)) == RawDataOnDisk("/raw", "external")
    with pytest.raises(MSDDataError, match=r"raw MSD files missing under /raw: taste_profile/train_triplets\.txt, "):
        world_to_draw(_inventory(False, None), DemoWorldConfig(generate=False))


def test_a_folder_the_generator_did_not_write_is_never_drawn_over():
    """All the files in place but no generator marker: somebody's data, an error, no draw."""
    with pytest.raises(
        MSDDataError,
        match=r"/raw: the demo world would replace /raw, which holds files the demo generator did not write.*--env msd",
    ):
        world_to_draw(_inventory(True, None), DemoWorldConfig(**TINY))
    with pytest.raises(MSDDataError, match="did not write"):
        world_to_draw(_inventory(False, None, replaceable=False), DemoWorldConfig(**TINY))
