"""One folder per pipeline: ``pipeline.py`` wires, ``nodes.py`` computes."""
