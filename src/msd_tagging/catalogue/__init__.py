"""The tagged catalogue's statistics: calibrated probabilities and decisions with a stated precision."""
