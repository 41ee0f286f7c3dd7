"""The README's result figures are the run's, not typed in."""

from __future__ import annotations

import json

from tests.conftest import REPO, load_script


def _module():
    return load_script("docs/readme_results.py")


def test_readme_results_blocks_agree_with_the_results_file():
    readme = _module()
    assert readme.check() == [], "run: python docs/readme_results.py write"
    assert set(readme.RENDERERS) <= readme.rendered_blocks()  # every rendering is on some page


def test_the_readme_is_a_landing_page_one_click_from_your_own_catalogue():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert "[**your own catalogue**](docs/catalogue.md)" in text
    for block in ("catalogue", "table-1"):  # what a catalogue gets, and the headline result
        assert f"<!-- results:{block} -->" in text
    for link in __import__("re").findall(r"\]\(((?:docs|benchmarks)/[^)#]+)", text):
        assert (REPO / link).is_file(), link


def test_a_changed_figure_is_caught(tmp_path):
    """The check can fail: one number edited in the results file makes the README stale."""
    readme = _module()
    record = json.loads(readme.RESULTS.read_text())
    record["table_1"]["rows"][2]["roc_auc"] += 0.01
    results = tmp_path / "demo.json"
    results.write_text(json.dumps(record))
    assert "table-1" in readme.check(REPO / "README.md", results)


@__import__("pytest").mark.e2e
def test_the_docs_site_builds_in_strict_mode(tmp_path):
    """mkdocs build --strict: every page in the nav, every link and anchor resolves, and
    the reference page is generated from the conf files."""
    import os
    import subprocess
    import sys

    import pytest

    pytest.importorskip("mkdocs")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    assert "tag_threshold" in reference and "catalogue_tags" in reference and "TableDataset" in reference
    assert (tmp_path / "site" / "benchmarks" / "results" / "sensitivity.png").is_file()
