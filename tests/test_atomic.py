"""Atomic saves: a failing save leaves the previous file or version intact, no partial file;
and every file dataset the catalog declares, in every env, is wrapped so."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError, Version
from kedro_datasets.pandas import ParquetDataset

from msd_tagging.datasets import AtomicDataset

matplotlib.use("Agg")
pytestmark = pytest.mark.bad_input
REPO = Path(__file__).resolve().parents[1]


class Unwritable:
    """Breaks ``to_parquet`` half-way through, like a full disk or a kill mid-save."""

    def to_parquet(self, handle, **kwargs):
        handle.write(b"PAR1 half a file")
        raise OSError("No space left on device")


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_failed_save_keeps_the_previous_file(tmp_path):
    scores = AtomicDataset("pandas.ParquetDataset", filepath=str(tmp_path / "scores.parquet"))
    scores.save(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DatasetError, match="No space left"):
        scores.save(Unwritable())
    assert scores.load()["a"].tolist() == [1, 2]
    assert _files(tmp_path) == ["scores.parquet"]  # no partial file left behind


def test_without_atomic_saves_kedro_leaves_a_broken_file(tmp_path):
    """The failure the wrapper guards against, shown on a plain dataset."""
    plain = ParquetDataset(filepath=str(tmp_path / "scores.parquet"))
    plain.save(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DatasetError):
        plain.save(Unwritable())
    with pytest.raises(DatasetError):
        plain.load()


def _table(tmp_path, version=None):
    return AtomicDataset(
        "pandas.CSVDataset",
        version=Version(None, version),
        filepath=str(tmp_path / "table.csv"),
        save_args={"index": False},
    )


def test_failed_save_of_a_versioned_dataset_keeps_the_newest_version(tmp_path):
    _table(tmp_path, "2026-11-24T10.00.00.000Z").save(pd.DataFrame({"x": [1]}))

    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("killed mid-save")

    with pytest.raises(DatasetError, match="killed mid-save"):
        _table(tmp_path, "2026-11-24T11.00.00.000Z").save(Broken({"x": [2]}))
    assert _files(tmp_path) == ["table.csv/2026-11-24T10.00.00.000Z/table.csv"]  # no empty newest version
    assert _table(tmp_path).load()["x"].tolist() == [1]


def test_saving_onto_an_existing_version_is_refused(tmp_path):
    version = "2026-11-24T10.00.00.000Z"
    first = AtomicDataset("json.JSONDataset", version=Version(None, version), filepath=str(tmp_path / "t.json"))
    first.save({"v": 1})
    again = AtomicDataset("json.JSONDataset", version=Version(None, version), filepath=str(tmp_path / "t.json"))
    with pytest.raises(DatasetError, match="must not exist"):
        again.save({"v": 2})
    assert again.load() == {"v": 1}


def test_successful_saves_behave_as_before(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    figure = AtomicDataset("matplotlib.MatplotlibDataset", filepath=str(tmp_path / "f.png"))
    versioned = AtomicDataset("json.JSONDataset", version=Version(None, None), filepath=str(tmp_path / "v.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no save/load version mismatch warning from Kedro
        figure.save(fig)
        versioned.save({"ok": True})
        assert versioned.load() == {"ok": True}
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in tmp_path.rglob(".*partial*")]


def test_a_version_saved_is_the_one_loaded_next_and_remote_paths_pass_through(tmp_path):
    table = _table(tmp_path, "2026-11-24T10.00.00.000Z")
    table.save(pd.DataFrame({"x": [1]}))
    later = _table(tmp_path, "2026-11-24T12.00.00.000Z")
    assert later.load()["x"].tolist() == [1]  # the newest so far
    later.save(pd.DataFrame({"x": [3]}))
    assert later.load()["x"].tolist() == [3]  # not a cached older version
    remote = AtomicDataset("pandas.ParquetDataset", filepath="memory://bucket/scores.parquet")
    remote.save(pd.DataFrame({"a": [1]}))  # object stores publish only complete uploads: passed through
    assert remote.load()["a"].tolist() == [1]
    with pytest.raises(DatasetError, match="put versioned: true on the AtomicDataset entry"):
        AtomicDataset({"type": "json.JSONDataset", "filepath": "x.json", "versioned": True})


FILE_DATASETS = ("pandas.", "json.", "text.", "matplotlib.", "yaml.", "pickle.")


@pytest.mark.parametrize("env", ["base", "msd", "scale", "catalogue"])
def test_every_file_dataset_of_the_catalog_is_atomic(env):
    """A Kedro file dataset declared without the wrapper would write straight to its target."""
    from kedro.config import OmegaConfigLoader

    from msd_tagging import settings

    loader = OmegaConfigLoader(str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS, env=env)
    catalog = loader["catalog"]
    bare = [
        name
        for name, entry in catalog.items()
        if not name.startswith("_") and str(entry.get("type", "")).startswith(FILE_DATASETS)
    ]
    assert bare == []
    wrapped = [name for name, entry in catalog.items() if entry.get("type") == "msd_tagging.datasets.AtomicDataset"]
    assert len(wrapped) >= 25 and "table_1" in wrapped and "{scorer}_scores" in wrapped


def test_kedro_reads_the_wrapped_catalog_entries(tmp_path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    monkeypatch.chdir(REPO)
    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO, env="base") as session:
        catalog = session.load_context().catalog
    assert isinstance(catalog["table_1"], AtomicDataset) and isinstance(catalog["hybrid_scores"], AtomicDataset)
    assert yaml.safe_dump(catalog["table_1"]._describe())
