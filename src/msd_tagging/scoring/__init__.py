"""Scores and their evaluation: the score-table convention and fusion (:mod:`.scores`),
every metric (:mod:`.evaluation`), and the one declaration of every scorer (:mod:`.scorers`)."""
