"""Benchmark: t-SNE of MF-like vectors, openTSNE vs scikit-learn.

20,000 points of 200-d vectors in 16 clusters (like MF track vectors in scenes), both
libraries with perplexity 30, cosine metric, 2 threads, the same seed; scikit-learn's
TSNE is the named baseline. Also reports 10-NN label agreement in each 2-D embedding, so
speed is not bought with a worse picture.

Usage::

    python benchmarks/tsne.py [--points 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def knn_agreement(xy: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    return float((labels[index] == labels[:, None]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    args = parser.parse_args()

    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE as SkTSNE

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 16, size=args.points)
    centres = rng.normal(0, 1, size=(16, 200))
    x = (centres[labels] + rng.normal(0, 1.5, size=(args.points, 200))).astype(np.float32)

    started = time.perf_counter()
    sk = SkTSNE(perplexity=30, metric="cosine", init="pca", random_state=0, n_jobs=2).fit_transform(x)
    sk_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ot = np.asarray(OpenTSNE(perplexity=30, metric="cosine", n_jobs=2, random_state=0).fit(x))
    ot_seconds = time.perf_counter() - started

    print(f"t-SNE of {args.points:,} points x 200 dims, perplexity 30, cosine, 2 threads")
    print(f"{'':28} {'seconds':>8} {'vs sklearn':>11} {'10-NN agreement':>16}")
    print(f"{'scikit-learn (baseline)':28} {sk_seconds:8.1f} {1.0:11.2f} {knn_agreement(sk, labels):16.3f}")
    print(f"{'openTSNE':28} {ot_seconds:8.1f} {ot_seconds / sk_seconds:11.2f} {knn_agreement(ot, labels):16.3f}")
    print(f"openTSNE speed-up: {sk_seconds / ot_seconds:.1f}x")


if __name__ == "__main__":
    main()
