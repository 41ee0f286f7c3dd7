"""A tag classifier on MF vectors: per-tag logistic regressions trained with the training
tracks' tags (the paper's MF-centroids use no labels at all), strength chosen on validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msd_tagging.core.metrics import macro_quality


@dataclass
class TagClassifier:
    """Per-tag logistic regressions on standardised MF vectors.

    Attributes:
        mean, scale: standardisation of the vectors ``[d]`` (from the training tracks).
        coef: ``[n_tags, d]``; intercept: ``[n_tags]``.
        c: the inverse L2 strength chosen on validation.
        validation: the validation criterion per candidate ``c``.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    c: float
    validation: dict[float, float]

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        """Tag probabilities ``[n, n_tags]``."""
        logits = ((vectors - self.mean) / self.scale) @ self.coef.T + self.intercept
        with np.errstate(over="ignore"):  # exp overflows to inf for very negative logits: probability 0
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def fit_tag_classifier(
    train_vectors: np.ndarray,
    train_labels: np.ndarray,
    valid_vectors: np.ndarray,
    valid_labels: np.ndarray,
    cs: tuple[float, ...] = (0.001, 0.01, 0.1),
    *,
    seed: int = 0,
) -> TagClassifier:
    """Fit one logistic regression per tag for every ``c`` in ``cs``; keep the ``c`` whose
    macro validation quality is best. A tag with one class in training gets its base rate.
    """
    from sklearn.linear_model import LogisticRegression

    if len(train_vectors) != len(train_labels) or len(valid_vectors) != len(valid_labels):
        raise ValueError("vectors and labels differ in length")
    mean = train_vectors.mean(axis=0)
    scale = train_vectors.std(axis=0) + 1e-8
    z = (train_vectors - mean) / scale
    n_tags, d = train_labels.shape[1], train_vectors.shape[1]
    best: TagClassifier | None = None
    validation: dict[float, float] = {}
    for c in cs:
        coef = np.zeros((n_tags, d))
        intercept = np.zeros(n_tags)
        for t in range(n_tags):
            y = train_labels[:, t].astype(np.int8)
            if y.min() == y.max():
                rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
                intercept[t] = np.log(rate / (1 - rate))
                continue
            fit = LogisticRegression(C=c, max_iter=500, random_state=seed).fit(z, y)
            coef[t], intercept[t] = fit.coef_[0], fit.intercept_[0]
        candidate = TagClassifier(mean, scale, coef, intercept, float(c), validation)
        validation[float(c)] = macro_quality(valid_labels, candidate.predict(valid_vectors))
        if best is None or validation[float(c)] > validation[best.c]:
            best = candidate
    assert best is not None, "cs is empty"
    return best
