"""What every layer uses: errors, files, ID maps, metrics, progress, provenance, figure notes."""
