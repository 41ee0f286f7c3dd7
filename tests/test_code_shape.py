"""The shape the code keeps: short procedures, pipelines that import only their own
nodes, and one declaration of the scorers that every pipeline is built from."""

from __future__ import annotations

import ast

from tests.conftest import REPO

SRC = REPO / "src" / "msd_tagging"
# Size in statements, not lines: packing a call onto fewer lines (``# fmt: skip``) does not
# make a function shorter, and the formatter's layout does not make it longer.
MAX_STATEMENTS = 50
# Left unformatted only at module level, for declarations laid out as tables.
MAX_FMT_SKIPS = 15
# The demo synthesiser's signal code renders audio sample by sample and stays in one piece.
EXEMPT = {SRC / "demo" / "synth.py"}


def _functions():
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path, node


def statements(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The statements of a function, nested ones included (its own ``def`` not)."""
    return sum(isinstance(node, ast.stmt) for node in ast.walk(function)) - 1


def test_no_function_has_more_than_50_statements():
    long = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({statements(node)} statements)"
        for path, node in _functions()
        if path not in EXEMPT and statements(node) > MAX_STATEMENTS
    ]
    assert long == []


def test_the_measure_counts_statements_however_they_are_laid_out():
    packed = ast.parse("def f():\n    a = 1; b = 2\n    if a: c = 3").body[0]
    spread = ast.parse("def f():\n    a = (\n        1\n    )\n    b = 2\n    if a:\n        c = 3").body[0]
    assert statements(packed) == statements(spread) == 4


def test_fmt_skip_stays_out_of_functions():
    """The formatter lays out every function; only module-level tables keep their own layout."""
    inside, total = [], 0
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        spans = [(n.lineno, n.end_lineno) for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]
        for number, line in enumerate(text.splitlines(), 1):
            if "fmt: skip" in line:
                total += 1
                if any(a <= number <= b for a, b in spans):
                    inside.append(f"{path.relative_to(REPO)}:{number}")
    assert inside == [] and total <= MAX_FMT_SKIPS


def test_no_pipeline_imports_another_pipelines_module():
    pipelines = SRC / "pipelines"
    crossings = []
    for path in sorted(pipelines.rglob("*.py")):
        own = path.relative_to(pipelines).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[:2] == ["msd_tagging", "pipelines"] and len(parts) > 2 and parts[2] != own:
                    crossings.append(f"{path.relative_to(REPO)} imports {name}")
    assert crossings == []


def test_every_scorer_is_scored_evaluated_and_tabled_from_the_declaration():
    from msd_tagging.pipeline_registry import register_pipelines
    from msd_tagging.scoring.scorers import SCORERS

    pipelines = register_pipelines()
    scored = {o for n in pipelines["scoring"].nodes for o in n.outputs}
    evaluated = {o for n in pipelines["evaluation"].nodes for o in n.outputs}
    (extended,) = [n for n in pipelines["reporting"].nodes if n.name == "extended_table"]
    for scorer in SCORERS:
        if scorer.function is not None:
            assert f"{scorer.name}_scores" in scored
        assert f"{scorer.name}_metrics" in evaluated
        assert f"{scorer.name}_metrics" in extended.inputs
    (table_1,) = [n for n in pipelines["reporting"].nodes if n.name == "table_1"]
    assert set(table_1.inputs) == {f"{s.name}_metrics" for s in SCORERS if s.paper is not None}


def test_the_method_view_is_the_nodes_tagged_method():
    from msd_tagging.pipeline_registry import register_pipelines

    method = {n.name for n in register_pipelines()["method"].nodes}
    assert method == {
        "extract_features",
        "train_tagger",
        "score_audio",
        "index_plays",
        "factorise_plays",
        "mf.mf_centroid_scores",
        "hybrid.mean_fusion",
        "audio.evaluate_scorer",
        "mf.evaluate_scorer",
        "hybrid.evaluate_scorer",
        "table_1",
    }


def test_the_readme_example_scorer_needs_only_its_function_and_declaration():
    """README "Adding a scorer": one declaration makes a node, an evaluation and a row; the
    declaration is passed into the pipelines, so nothing is patched."""
    from msd_tagging.pipeline_registry import build_pipelines
    from msd_tagging.pipelines.reporting.nodes import build_extended_table
    from msd_tagging.scoring import scorers
    from msd_tagging.scoring.scores import fuse

    def listening_mix(centroid_scores, classifier_scores):
        return fuse(centroid_scores, classifier_scores, 0.3)

    new = scorers.Scorer(
        "listening_mix", "0.7 · MF-centroids + 0.3 · MF classifier", listening_mix,
        ("mf_scores", "mf_classifier_scores"), kind="listening",
    )  # fmt: skip
    declared = (*scorers.SCORERS, new)
    pipelines = build_pipelines(declared)
    (node,) = [n for n in pipelines["scoring"].nodes if n.name == "listening_mix.listening_mix"]
    assert node.inputs == ["mf_scores", "mf_classifier_scores"] and node.outputs == ["listening_mix_scores"]
    assert "listening_mix.evaluate_scorer" in {n.name for n in pipelines["evaluation"].nodes}
    (extended,) = [n for n in pipelines["reporting"].nodes if n.name == "extended_table"]
    assert "listening_mix_metrics" in extended.inputs
    assert "listening_mix_metrics" not in {i for n in build_pipelines()["reporting"].nodes for i in n.inputs}
    metrics = {
        s.name: {"split": "test", "roc_auc_macro": 0.8, "pr_auc_macro": 0.3, "n_tracks_scored": 4, "n_tags_scored": 2}
        for s in declared
    }
    selection = {"audio+listening": {"chosen": "fusion_classifier", "criterion": "validation", "validation": {}}}
    _, markdown, _ = build_extended_table(metrics, declared, selection)
    assert "| `listening_mix` | 0.7 · MF-centroids + 0.3 · MF classifier |" in markdown
