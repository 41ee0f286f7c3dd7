"""msd-tagging: music tagging from audio and listening data on the Million Song Dataset."""

__version__ = "0.1.0"
