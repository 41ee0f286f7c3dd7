"""The listening side: plays → track vectors (:mod:`.factorisation`) → tag centroids
(:mod:`.centroids`)."""
