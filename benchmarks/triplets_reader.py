"""Benchmark: reading the full-size Taste Profile ``train_triplets.txt``.

Generates a file shaped like the real one (48,373,586 rows, 1,019,318 users, 384,546
songs, rows grouped by user, power-law activity and song popularity, Zipf play counts),
then reads it in fresh subprocesses with

* ``pandas.read_csv`` with defaults (the named baseline: string columns),
* ``pandas.read_csv`` with category dtypes (the same compact output as ours), and
* ``msd_tagging.readers.read_triplets`` (pyarrow streaming, dictionary-encoded IDs),

and prints wall seconds and peak resident memory of each, with ratios against the
baseline measured in the same run.

Usage::

    python benchmarks/triplets_reader.py [--rows 48373586] [--keep] [--json out.json]

The generated file (about 3 GB) goes to ``benchmarks/_scratch/`` (git-ignored) and is
deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from msd_tagging.framework.run_record import machine_label

FULL_ROWS = 48_373_586
FULL_USERS = 1_019_318
FULL_SONGS = 384_546
HERE = Path(__file__).resolve().parent


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write a Taste Profile-shaped triplets file of ``rows`` rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    scale = rows / FULL_ROWS
    n_users = max(1, int(FULL_USERS * scale))
    n_songs = max(1, int(FULL_SONGS * min(1.0, scale * 4)))
    raw = rng.bytes(20 * n_users)  # SHA-1-like user IDs: 40 hex digits
    users = pa.array([raw[i : i + 20].hex() for i in range(0, len(raw), 20)])
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    songs = pa.array(["SO" + "".join(chars) for chars in rng.choice(alphabet, size=(n_songs, 16))])

    # Power-law rows per user, rescaled to the exact total.
    activity = rng.pareto(1.5, size=n_users) + 1
    per_user = np.maximum(1, np.floor(activity / activity.sum() * rows)).astype(np.int64)
    per_user[np.argsort(-per_user)[: rows - per_user.sum()] if rows > per_user.sum() else []] += 1
    while per_user.sum() > rows:
        per_user[np.argmax(per_user)] -= per_user.sum() - rows
    popularity = 1 / np.arange(1, n_songs + 1) ** 0.8
    popularity /= popularity.sum()

    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    user_of_row = np.repeat(np.arange(n_users, dtype=np.int32), per_user)
    with pacsv.CSVWriter(
        path, pa.schema([("u", pa.string()), ("s", pa.string()), ("c", pa.int32())]), write_options=options
    ) as writer:
        for start in range(0, rows, 2_000_000):
            stop = min(start + 2_000_000, rows)
            u = pa.DictionaryArray.from_arrays(pa.array(user_of_row[start:stop]), users).dictionary_decode()
            s_idx = rng.choice(n_songs, size=stop - start, p=popularity).astype(np.int32)
            s = pa.DictionaryArray.from_arrays(pa.array(s_idx), songs).dictionary_decode()
            c = pa.array(np.minimum(rng.zipf(2.0, size=stop - start), 9000).astype(np.int32))
            writer.write_table(pa.table({"u": u, "s": s, "c": c}))


# (import, read): imports stay outside the timed region.
READERS = {
    "pandas.read_csv (defaults)": (
        "import pandas as pd",
        "f = pd.read_csv(PATH, sep='\\t', header=None, names=['user_id', 'song_id', 'play_count'])",
    ),
    # The same compact output as ours (categorical IDs), the pandas way.
    "pandas.read_csv (category dtypes)": (
        "import pandas as pd",
        "f = pd.read_csv(PATH, sep='\\t', header=None, names=['user_id', 'song_id', 'play_count'], "
        "dtype={'user_id': 'category', 'song_id': 'category', 'play_count': 'int64'})",
    ),
    "msd_tagging read_triplets": ("from msd_tagging.readers import read_triplets", "f = read_triplets(PATH)"),
}

CHILD = """
import resource, sys, time
{setup}
PATH = sys.argv[1]
t0 = time.perf_counter()
{code}
seconds = time.perf_counter() - t0
assert len(f) == int(sys.argv[2]), len(f)
frame_mb = f.memory_usage(deep=True).sum() / 2**20
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{seconds:.3f}} {{peak_mb:.1f}} {{frame_mb:.1f}}")
"""


def measure(name: str, path: Path, rows: int) -> dict:
    setup, read = READERS[name]
    code = CHILD.format(setup=setup, code=read)
    done = subprocess.run([sys.executable, "-c", code, str(path), str(rows)], capture_output=True, text=True)
    if done.returncode != 0:
        return {
            "reader": name,
            "error": done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}",
        }
    seconds, peak, frame = map(float, done.stdout.split())
    return {"reader": name, "seconds": seconds, "peak_rss_mb": peak, "frame_mb": frame}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    scratch = HERE / "_scratch"
    scratch.mkdir(exist_ok=True)
    path = scratch / f"train_triplets_{args.rows}.txt"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {path.name}: {args.rows:,} rows, {path.stat().st_size / 2**30:.2f} GiB in {time.perf_counter() - t0:.0f} s"
        )

    results = [measure(name, path, args.rows) for name in READERS]
    baseline = results[0]
    print(f"\nTaste Profile triplets, {args.rows:,} rows ({path.stat().st_size / 2**30:.2f} GiB); {machine_label()}")
    print(f"{'reader':32} {'seconds':>8} {'peak RSS MB':>12} {'frame MB':>9} {'time ×':>7} {'memory ×':>9}")
    for r in results:
        if "error" in r:
            print(f"{r['reader']:32} failed: {r['error']}")
            continue
        ratios = ("", "")
        if "error" not in baseline:
            ratios = (f"{r['seconds'] / baseline['seconds']:.2f}", f"{r['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}")
        print(
            f"{r['reader']:32} {r['seconds']:8.1f} {r['peak_rss_mb']:12.0f} {r['frame_mb']:9.0f} {ratios[0]:>7} {ratios[1]:>9}"
        )
    print("(ratios: this reader / pandas.read_csv defaults, same file, same run)")
    if args.json:
        args.json.write_text(
            json.dumps({"rows": args.rows, "bytes": path.stat().st_size, "results": results}, indent=2)
        )
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
