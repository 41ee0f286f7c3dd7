"""Benchmark piece: the two heads at the MSD's shape, on this machine's cores.

The rehearsal world's clips are 2 s of synthetic audio, and embedding 241,889 tracks with
``msd_musicnn`` on 2 cores would take many hours, so the embeddings here are drawn, at the
MSD's shape: 201,680 training and 11,774 validation tracks, ``msd_musicnn``'s 200 values,
the 50 tags at Last.fm's density (``msd_tagging.demo.rehearsal.vocabulary_shares``),
embeddings that carry the tags linearly plus noise, and 200-value listening vectors that
depend on them nonlinearly. What is measured is cost, not quality: seconds and the
process's peak RSS of

* ``fit_head`` (``audio.head`` defaults: a logistic regression per tag with its strength
  chosen on validation, and the MLP with early stopping);
* ``predict_listening`` (``listening.from_audio`` defaults: both losses, early stopping),
  on the warm training tracks (``warm_share`` of them).

Each runs in its own process under ``/usr/bin/time -v``. ``msd_scale.py --heads-only``
calls :func:`measure` and adds the result to ``benchmarks/results/msd_scale.*``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
N_TRAIN, N_VALID, DIM, FACTORS = 201_680, 11_774, 200, 200
WARM_SHARE = 0.93  # split tracks with plays in the Taste Profile, about


def _data(seed: int = 0):
    import numpy as np

    sys.path.insert(0, str(PROJECT / "src"))
    from msd_tagging.demo.rehearsal import vocabulary_shares

    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_VALID
    labels = (rng.random((n, 50)) < vocabulary_shares()).astype(np.int8)
    embeddings = (labels @ rng.normal(0, 1, (50, DIM)) + rng.normal(0, 2, (n, DIM))).astype(np.float32)
    return labels, embeddings, rng


def _head() -> dict:
    sys.path.insert(0, str(PROJECT / "src"))
    from msd_tagging.models.heads import fit_head
    from msd_tagging.params import HeadParams

    labels, x, _ = _data()
    started = time.perf_counter()
    fitted = fit_head(x[:N_TRAIN], labels[:N_TRAIN], x[N_TRAIN:], labels[N_TRAIN:], HeadParams(), "msd_musicnn")
    return {"seconds": time.perf_counter() - started, "kind": fitted.kind, "validation": fitted.validation}


def _from_audio() -> dict:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(PROJECT / "src"))
    from msd_tagging.listening.from_audio import predict_listening
    from msd_tagging.params import FromAudioParams

    _, x, rng = _data()
    n = len(x)
    vectors = np.tanh(x @ rng.normal(0, 0.1, (DIM, 64))) @ rng.normal(0, 1, (64, FACTORS))
    vectors += rng.normal(0, 0.5, vectors.shape)
    ids = np.array([f"T{i:07d}" for i in range(n)], dtype=object)
    cold = rng.random(n) > WARM_SHARE
    table = pd.DataFrame(vectors.astype(np.float32), columns=[f"f{j:03d}" for j in range(FACTORS)])
    table[cold] = np.nan
    table.insert(0, "cold", cold)
    table.insert(0, "track_id", ids)
    embeddings = pd.DataFrame(x, columns=[f"e{j:03d}" for j in range(DIM)])
    embeddings.insert(0, "track_id", ids)
    tracks = pd.DataFrame({"track_id": ids, "split": ["train"] * N_TRAIN + ["valid"] * N_VALID})
    started = time.perf_counter()
    _, report = predict_listening(embeddings, table, tracks, FromAudioParams())
    return {"seconds": time.perf_counter() - started, "report": report}


def measure() -> dict:
    """Each piece in its own process: its seconds (inside) and peak RSS (``/usr/bin/time -v``)."""
    out = {"shape": {"train": N_TRAIN, "valid": N_VALID, "embedding": DIM, "factors": FACTORS, "tags": 50}}
    for piece in ("head", "from_audio"):
        command = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__)), piece]
        done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        result = re.search(r"^RESULT (.*)$", done.stdout, re.M)
        out[piece] = {
            "completed": done.returncode == 0,
            "process_peak_rss_mb": int(peak.group(1)) / 1024 if peak else None,
            **(json.loads(result.group(1)) if result else {"error": done.stderr[-2000:]}),
        }
        print(f"{piece}: {out[piece].get('seconds')} s, {out[piece]['process_peak_rss_mb']} MB", flush=True)
    return out


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] in ("head", "from_audio"):
        result = _head() if sys.argv[1] == "head" else _from_audio()
        print("RESULT " + json.dumps(result, default=float))
    else:
        print(json.dumps(measure(), indent=2, default=float))
