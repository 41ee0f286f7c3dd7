"""The README's result figures are the run's, not typed in."""

from __future__ import annotations

import importlib.util
import json

from tests.conftest import REPO


def _module():
    spec = importlib.util.spec_from_file_location("readme_results", REPO / "docs" / "readme_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_results_blocks_agree_with_the_results_file():
    readme = _module()
    assert readme.check() == [], "run: python docs/readme_results.py write"
    text = (REPO / "README.md").read_text()
    for name in readme.RENDERERS:
        assert f"<!-- results:{name} -->" in text


def test_a_changed_figure_is_caught(tmp_path):
    """The check can fail: one number edited in the results file makes the README stale."""
    readme = _module()
    record = json.loads(readme.RESULTS.read_text())
    record["table_1"]["rows"][2]["roc_auc"] += 0.01
    results = tmp_path / "demo.json"
    results.write_text(json.dumps(record))
    assert "table-1" in readme.check(REPO / "README.md", results)
