"""Benchmark: reading and labelling the full-size Last.fm ``lastfm_tags.db``.

Generates a database shaped like the real one (505,216 tids, about 522,000 distinct tags,
8,598,630 ``tid_tag`` rows; tag popularity Zipf-like with the 50 vocabulary tags among
the most used, weights 0-100), then in fresh subprocesses measures

* the named baseline: ``pandas.read_sql`` of the three tables joined (the obvious way), and
* ``msd_tagging``: ``read_lastfm_tags_db`` (chunked, codes, dirty rows counted in SQL)
  followed by ``build_tag_labels`` for 241,889 split tracks and the 50 tags,

and prints wall seconds and peak resident memory with ratios against the baseline
measured in the same run. Issue 13's bound for ours: 60 s and 2 GB.

Usage::

    python benchmarks/lastfm_reader.py [--rows 8598630] [--keep] [--json out.json]

The database (about 250 MB) goes to ``benchmarks/_scratch/`` (git-ignored) and is deleted
afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from msd_tagging.framework.run_record import commit_label, machine_label

FULL_ROWS = 8_598_630
FULL_TIDS = 505_216
FULL_TAGS = 522_366
SPLIT_TRACKS = 241_889
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write a Last.fm-shaped ``lastfm_tags.db`` with ``rows`` tid_tag rows."""
    from msd_tagging.demo.world import MSD_50_TAGS

    rng = np.random.default_rng(seed)
    scale = rows / FULL_ROWS
    n_tids, n_tags = max(60, int(FULL_TIDS * scale)), max(100, int(FULL_TAGS * scale))
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    tids = ["TR" + "".join(c) for c in rng.choice(alphabet, size=(n_tids, 16))]
    tags = list(MSD_50_TAGS) + [f"tag {i}" for i in range(n_tags - len(MSD_50_TAGS))]
    popularity = 1 / np.arange(1, n_tags + 1) ** 1.1
    popularity /= popularity.sum()
    tid_rows = rng.integers(1, n_tids + 1, size=rows)
    tag_rows = rng.choice(n_tags, size=rows, p=popularity) + 1
    weights = rng.integers(0, 101, size=rows).astype(float)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tids (tid TEXT, CONSTRAINT tid_unique UNIQUE (tid))")
        db.execute("CREATE TABLE tags (tag TEXT, CONSTRAINT tag_unique UNIQUE (tag))")
        db.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        db.executemany("INSERT INTO tids (ROWID, tid) VALUES (?, ?)", enumerate(tids, start=1))
        db.executemany("INSERT INTO tags (ROWID, tag) VALUES (?, ?)", enumerate(tags, start=1))
        db.executemany(
            "INSERT INTO tid_tag VALUES (?, ?, ?)",
            zip(tid_rows.tolist(), tag_rows.tolist(), weights.tolist(), strict=True),
        )
        db.execute("CREATE INDEX idx_tid_tag_tid ON tid_tag (tid)")
    db.close()


READERS = {
    "pandas.read_sql (joined)": (
        "import sqlite3, pandas as pd",
        "con = sqlite3.connect(PATH); f = pd.read_sql('SELECT tids.tid AS track_id, tags.tag AS tag, tid_tag.val AS weight "
        "FROM tid_tag JOIN tids ON tid_tag.tid = tids.ROWID JOIN tags ON tid_tag.tag = tags.ROWID', con); n = len(f)",
    ),
    "msd_tagging read + label": (
        "import pandas as pd, sqlite3\n"
        "from msd_tagging.demo.world import MSD_50_TAGS\n"
        "from msd_tagging.readers import read_lastfm_tags_db\n"
        "from msd_tagging.pipelines.ingestion.nodes import build_tag_labels\n"
        f"ids = [t for (t,) in sqlite3.connect(PATH).execute('SELECT tid FROM tids ORDER BY ROWID LIMIT {SPLIT_TRACKS}')]\n"
        "tracks = pd.DataFrame({'track_id': ids, 'split': ['train'] * (len(ids) * 8 // 10) + ['test'] * (len(ids) - len(ids) * 8 // 10)})",
        "f = read_lastfm_tags_db(PATH); n = len(f)\n"
        "labels, stats = build_tag_labels(tracks, f, list(MSD_50_TAGS), {'tag_threshold': 50, 'max_bad_tag_rows_fraction': 0.01})",
    ),
}

CHILD = """
import resource, sys, time
PATH = sys.argv[1]
{setup}
t0 = time.perf_counter()
{code}
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{seconds:.3f}} {{peak_mb:.1f}} {{n}}")
"""


def measure(name: str, path: Path) -> dict:
    setup, read = READERS[name]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(setup=setup, code=read), str(path)], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        return {"reader": name, "error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    seconds, peak, rows = done.stdout.split()
    return {"reader": name, "seconds": float(seconds), "peak_rss_mb": float(peak), "rows": int(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    scratch = HERE / "_scratch"
    scratch.mkdir(exist_ok=True)
    path = scratch / f"lastfm_tags_{args.rows}.db"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {path.name}: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t0:.0f} s"
        )
    try:
        results = [measure(name, path) for name in READERS]
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    baseline = results[0]
    machine = machine_label()
    print(f"\nlastfm_tags.db, {args.rows:,} tid_tag rows; {machine}")
    print(f"{'reader':28} {'seconds':>8} {'peak RSS MB':>12} {'time ×':>7} {'memory ×':>9}")
    for r in results:
        if "error" in r:
            print(f"{r['reader']:28} failed: {r['error']}")
            continue
        ratios = ("", "")
        if "error" not in baseline:
            ratios = (f"{r['seconds'] / baseline['seconds']:.2f}", f"{r['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}")
        print(f"{r['reader']:28} {r['seconds']:8.1f} {r['peak_rss_mb']:12.0f} {ratios[0]:>7} {ratios[1]:>9}")
    if args.json:
        commit = commit_label(HERE.parent)
        args.json.write_text(
            json.dumps({"rows": args.rows, "machine": machine, "commit": commit, "results": results}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
