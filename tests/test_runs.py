"""Comparing past runs' Table 1."""

from __future__ import annotations

import json

import pytest

from msd_tagging.core.errors import MSDDataError
from msd_tagging.framework.runs import load_versions, main, side_by_side


def _save(reporting, version, hybrid_roc):
    folder = reporting / "table_1.json" / version
    folder.mkdir(parents=True)
    rows = [
        {"method": "VGG (audio)", "roc_auc": 0.8, "pr_auc": 0.3},
        {"method": "Hybrid", "roc_auc": hybrid_roc, "pr_auc": 0.31},
    ]
    (folder / "table_1.json").write_text(json.dumps({"split": "test", "rows": rows}))


def test_runs_side_by_side_oldest_first(tmp_path, capsys):
    _save(tmp_path, "2026-11-24T19.10.00.000Z", 0.81)
    _save(tmp_path, "2026-11-24T18.00.00.000Z", 0.79)
    _save(tmp_path, "2026-11-24T20.00.00.000Z", 0.82)
    table = side_by_side(load_versions(tmp_path), collapse=False)
    assert table.columns.tolist() == ["VGG (audio)", "Hybrid"]
    assert table.index.tolist() == ["2026-11-24T18.00.00.000Z", "2026-11-24T19.10.00.000Z", "2026-11-24T20.00.00.000Z"]
    assert table.loc["2026-11-24T20.00.00.000Z", "Hybrid"] == "0.8200 / 0.3100"
    assert side_by_side(load_versions(tmp_path, last=1), collapse=False).index.tolist() == ["2026-11-24T20.00.00.000Z"]
    assert main(["--reporting", str(tmp_path), "--last", "2"]) == 0
    assert "0.8100 / 0.3100" in capsys.readouterr().out


def test_runs_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(MSDDataError, match="no saved version of table_1"):
        load_versions(tmp_path)
    broken = tmp_path / "table_1.json" / "2026-11-24T19.00.00.000Z"
    broken.mkdir(parents=True)
    (broken / "table_1.json").write_text('{"rows": [')
    with pytest.raises(MSDDataError, match="none of the 1 saved versions of table_1 .* can be read"):
        load_versions(tmp_path)
    with pytest.raises(SystemExit):
        main(["--reporting", str(tmp_path / "elsewhere")])


def test_identical_consecutive_runs_collapse_into_one_row(tmp_path):
    """Partial reruns that touch table_1 save identical versions: one row, counted."""
    for version, roc in (
        ("2026-11-24T18.00.00.000Z", 0.79),
        ("2026-11-24T18.05.00.000Z", 0.79),
        ("2026-11-24T18.09.00.000Z", 0.79),
        ("2026-11-24T19.00.00.000Z", 0.81),
        ("2026-11-24T20.00.00.000Z", 0.79),
    ):
        _save(tmp_path, version, roc)
    table = side_by_side(load_versions(tmp_path))
    assert table.index.tolist() == ["2026-11-24T18.00.00.000Z", "2026-11-24T19.00.00.000Z", "2026-11-24T20.00.00.000Z"]
    assert table["runs"].tolist() == [3, 1, 1]
    assert len(side_by_side(load_versions(tmp_path), collapse=False)) == 5
