"""Atomic saves: a failing save leaves the previous file or version intact, no partial file."""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from msd_tagging.datasets.atomic import AtomicDataCatalog, make_atomic

matplotlib.use("Agg")
pytestmark = pytest.mark.bad_input


class Unwritable:
    """Breaks ``to_parquet`` half-way through, like a full disk or a kill mid-save."""

    def to_parquet(self, handle, **kwargs):
        handle.write(b"PAR1 half a file")
        raise OSError("No space left on device")


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_failed_save_keeps_the_previous_file(tmp_path):
    catalog = AtomicDataCatalog({"scores": ParquetDataset(filepath=str(tmp_path / "scores.parquet"))})
    catalog.save("scores", pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DatasetError, match="No space left"):
        catalog.save("scores", Unwritable())
    assert catalog.load("scores")["a"].tolist() == [1, 2]
    assert _files(tmp_path) == ["scores.parquet"]  # no partial file left behind


def test_without_atomic_saves_kedro_leaves_a_broken_file(tmp_path):
    """The failure the catalog guards against, shown on a plain dataset."""
    plain = ParquetDataset(filepath=str(tmp_path / "scores.parquet"))
    plain.save(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DatasetError):
        plain.save(Unwritable())
    with pytest.raises(DatasetError):
        plain.load()


def test_failed_save_of_a_versioned_dataset_keeps_the_newest_version(tmp_path):
    def table(version=None):
        return CSVDataset(
            filepath=str(tmp_path / "table.csv"), version=Version(None, version), save_args={"index": False}
        )

    catalog = AtomicDataCatalog({"table": table("2026-11-24T10.00.00.000Z")})
    catalog.save("table", pd.DataFrame({"x": [1]}))
    failing = AtomicDataCatalog({"table": table("2026-11-24T11.00.00.000Z")})

    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("killed mid-save")

    with pytest.raises(DatasetError, match="killed mid-save"):
        failing.save("table", Broken({"x": [2]}))
    assert _files(tmp_path) == ["table.csv/2026-11-24T10.00.00.000Z/table.csv"]  # no empty newest version
    assert AtomicDataCatalog({"table": table()}).load("table")["x"].tolist() == [1]


def test_saving_onto_an_existing_version_is_refused(tmp_path):
    version = "2026-11-24T10.00.00.000Z"
    dataset = JSONDataset(filepath=str(tmp_path / "t.json"), version=Version(None, version))
    catalog = AtomicDataCatalog({"t": dataset})
    catalog.save("t", {"v": 1})
    again = AtomicDataCatalog({"t": JSONDataset(filepath=str(tmp_path / "t.json"), version=Version(None, version))})
    with pytest.raises(DatasetError, match="must not exist"):
        again.save("t", {"v": 2})
    assert again.load("t") == {"v": 1}


def test_successful_saves_behave_as_before(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    versioned = JSONDataset(filepath=str(tmp_path / "v.json"), version=Version(None, None))
    catalog = AtomicDataCatalog({"figure": MatplotlibDataset(filepath=str(tmp_path / "f.png")), "v": versioned})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no save/load version mismatch warning from Kedro
        catalog.save("figure", fig)
        catalog.save("v", {"ok": True})
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert catalog.load("v") == {"ok": True}
    assert not [p for p in tmp_path.rglob(".*partial*")]


def test_remote_and_custom_datasets_pass_through():
    from kedro.io import MemoryDataset

    assert make_atomic(MemoryDataset()) is False
    assert make_atomic(ParquetDataset(filepath="memory://bucket/scores.parquet")) is False  # not a local file
    assert make_atomic(ParquetDataset(filepath="/tmp/x.parquet")) is True


def test_the_context_catalog_of_notebooks_is_atomic_too(monkeypatch):
    """``context.catalog`` (kedro jupyter, kedro ipython, notebooks) used to be a plain
    DataCatalog even though ``kedro run`` saved atomically."""
    from pathlib import Path

    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from msd_tagging.datasets.atomic import AtomicDataCatalog

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    bootstrap_project(repo)
    with KedroSession.create(project_path=repo, env="base") as session:
        catalog = session.load_context().catalog
    assert isinstance(catalog, AtomicDataCatalog)
    assert type(catalog).__name__.endswith("WithCatalogCommandsMixin")  # Kedro's notebook commands kept
