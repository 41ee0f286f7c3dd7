"""Decides whether the demo world must be drawn, and draws it."""

from __future__ import annotations

import logging

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets.demo_world import RawFolder
from msd_tagging.demo.world import DemoWorld, DemoWorldConfig, RawDataOnDisk, build_world
from msd_tagging.demo.writer import foreign_folder_error

logger = logging.getLogger(__name__)


def draw_world(raw_inventory: dict, config: DemoWorldConfig, raw_folder: RawFolder) -> dict:
    """Draw the demo world and write it into the raw-data folder when its files are missing
    or were drawn from other parameters (:func:`world_to_draw`); the record of the raw data
    in place afterwards (the generator's marker, or ``external``).

    This is where the demo's audio is rendered and encoded (heavy: every clip).
    """
    world = world_to_draw(raw_inventory, config)
    if isinstance(world, DemoWorld):
        raw_folder.write(world)
    return raw_folder.record()


def world_to_draw(raw_inventory: dict, config: DemoWorldConfig) -> DemoWorld | RawDataOnDisk:
    """The demo world to draw if its files are missing or were drawn from other parameters.

    With ``demo_data.generate`` false (``conf/msd``), nothing is drawn: the raw files
    must already be there, and a missing one stops the run naming it.

    Args:
        raw_inventory: what :class:`~msd_tagging.datasets.RawInventoryDataset` found.
        config: the ``demo_data`` block: ``generate`` and the world's shape.

    Returns:
        A world to write, or a marker that the files in place are to be used.

    Raises:
        MSDDataError: when a world must be drawn but the folder holds files the generator
            did not write (a user's data is never replaced), or, with generation off, when
            a raw file is missing.
    """
    root = raw_inventory["root"]
    present = raw_inventory["present"]
    required = raw_inventory["required"]
    tables = raw_inventory.get("format") == "tables"
    if not config.generate:
        missing = [raw_inventory["files"][name] for name in required if not present.get(name)]
        if missing:
            raise MSDDataError(
                f"raw {'catalogue tables' if tables else 'MSD files'} missing under {root}: {', '.join(missing)}.",
                fix="set raw_root (and tables.*) in conf/<env>/globals.yml to your catalogue's tables, as the "
                "docs/catalogue.md shows."
                if tables
                else "set raw_root in conf/<env>/globals.yml to your MSD folder and lay the files out "
                "as docs/msd.md shows.",
            )
        logger.info("Using the raw files under %s (demo generation is off).", root)
        return RawDataOnDisk(root=root, source="external")

    manifest = raw_inventory.get("manifest") or {}
    drawn_here = manifest.get("fingerprint") == config.fingerprint() and manifest.get("format", "msd") == (
        raw_inventory.get("format", "msd")
    )
    if all(present.get(name) for name in required) and drawn_here:
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
