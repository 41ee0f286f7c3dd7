"""msd-tagging: music tagging from audio and listening data on the Million Song Dataset.

``from msd_tagging import Tagger`` tags a file in one call
(:mod:`msd_tagging.models.tagger`); the package itself imports no heavy library.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("Tagger", "TagResult"):
        from msd_tagging.models import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'msd_tagging' has no attribute {name!r}")
