"""The embedded demo world: a small music catalogue written in the exact MSD file formats.

``world`` draws the catalogue (tracks with hidden attributes, Last.fm-like tags, Taste
Profile-like listeners); ``synth`` renders each track's audio from its attributes;
``writer`` writes everything as the public MSD files so the real readers load it.
"""

from msd_tagging.demo.world import DemoWorld, DemoWorldConfig, RawDataOnDisk, build_world

__all__ = ["DemoWorld", "DemoWorldConfig", "RawDataOnDisk", "build_world"]
