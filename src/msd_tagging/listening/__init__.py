"""The listening side: plays (:mod:`.plays`) → track vectors (:mod:`.factorisation`) → tag centroids
(:mod:`.centroids`)."""
