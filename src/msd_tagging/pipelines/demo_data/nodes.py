"""Decides whether the demo world must be drawn, and draws it."""

from __future__ import annotations

import logging

from msd_tagging.demo.world import DemoWorld, DemoWorldConfig, RawDataOnDisk, build_world
from msd_tagging.demo.writer import foreign_folder_error
from msd_tagging.errors import MSDDataError

logger = logging.getLogger(__name__)

# Files every run needs; the manually accepted list is optional for real data.
REQUIRED = ("triplets", "sid_mismatches", "unique_tracks", "lastfm_tags_db", "tag_list", "split_train", "split_test")


def demo_data(raw_inventory: dict, params: dict) -> DemoWorld | RawDataOnDisk:
    """Draw the demo world if its files are missing or were drawn from other parameters.

    With ``params["generate"]`` false (``conf/msd``), nothing is drawn: the raw files
    must already be there, and a missing one stops the run naming it.

    Args:
        raw_inventory: what :class:`~msd_tagging.datasets.RawInventoryDataset` found.
        params: ``demo_data`` parameters: ``generate`` and the
            :class:`~msd_tagging.demo.world.DemoWorldConfig` fields.

    Returns:
        A world to write, or a marker that the files in place are to be used.

    Raises:
        MSDDataError: when a world must be drawn but the folder holds files the generator
            did not write (a user's data is never replaced), or, with generation off, when
            a raw file is missing.
    """
    root = raw_inventory["root"]
    present = raw_inventory["present"]
    if not params.get("generate", True):
        missing = [raw_inventory["files"][name] for name in REQUIRED if not present.get(name)]
        if missing:
            raise MSDDataError(
                f"raw MSD files missing under {root}: {', '.join(missing)}.",
                fix="set raw_root in conf/<env>/globals.yml to your MSD folder and lay the files out "
                "as the README's 'Real MSD' section shows.",
            )
        logger.info("Using the raw files under %s (demo generation is off).", root)
        return RawDataOnDisk(root=root, source="external")

    config = DemoWorldConfig(**{k: v for k, v in params.items() if k != "generate"})
    manifest = raw_inventory.get("manifest") or {}
    if all(present.get(name) for name in REQUIRED) and manifest.get("fingerprint") == config.fingerprint():
        logger.info("Demo world already under %s (fingerprint %s); not redrawn.", root, config.fingerprint())
        return RawDataOnDisk(root=root, source="demo")
    if not raw_inventory.get("replaceable", False):
        raise foreign_folder_error(root)
    if manifest:
        logger.info("Demo world under %s was drawn from other parameters; drawing it again.", root)
    logger.info(
        "Drawing the demo world (%d tracks, %d listeners, seed %d) into %s.",
        config.n_train + config.n_valid + config.n_test + config.n_extra,
        config.n_users,
        config.seed,
        root,
    )
    return build_world(config)
