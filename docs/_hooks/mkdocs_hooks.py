"""mkdocs hooks: the reference page generated from the conf files and the parameter
classes' docstrings at every build, and the benchmark figures and result pages served from
``benchmarks/results/`` (so neither is copied by hand and neither can drift)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from pathlib import Path

import yaml
from mkdocs.structure.files import File, InclusionLevel

PROJECT = Path(__file__).resolve().parents[2]
CONF = PROJECT / "conf"
BLOCKS = {  # top-level parameter block: its class
    "ingestion": "msd_tagging.params:IngestionParams",
    "audio": "msd_tagging.params:AudioParams",
    "listening": "msd_tagging.params:ListeningParams",
    "scoring": "msd_tagging.params:ScoringParams",
    "evaluation": "msd_tagging.params:EvaluationParams",
    "reporting": "msd_tagging.params:ReportingParams",
    "figures": "msd_tagging.params:FiguresParams",
    "tagging": "msd_tagging.params:TaggingParams",
    "tag_audio": "msd_tagging.params:TagAudioParams",
    "demo_data": "msd_tagging.demo.world:DemoWorldConfig",
}


def on_files(files, config):
    """The benchmark figures and result pages, served where the docs link them (linked from
    the pages, not listed in the nav)."""
    results = PROJECT / "benchmarks" / "results"
    for path in sorted([*results.glob("*.png"), *results.glob("*.md")]):
        files.append(
            File(
                f"benchmarks/results/{path.name}",
                str(PROJECT),
                config["site_dir"],
                config["use_directory_urls"],
                inclusion=InclusionLevel.NOT_IN_NAV,
            )
        )
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- reference:parameters -->" in markdown:
        markdown = markdown.replace("<!-- reference:parameters -->", parameters_reference())
    if "<!-- reference:catalog -->" in markdown:
        markdown = markdown.replace("<!-- reference:catalog -->", catalog_reference())
    return markdown


def _class(path: str):
    sys.path.insert(0, str(PROJECT / "src"))
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _doc(cls) -> str:
    """A class docstring as Markdown: its ``Attributes:`` section as a list of fields."""
    import re

    out, in_attributes = [], False
    for line in inspect.cleandoc(cls.__doc__ or "").replace("``", "`").splitlines():
        if line.strip() == "Attributes:":
            in_attributes = True
            out += ["", "Fields:", ""]
            continue
        field = re.match(r"    (\w+): (.*)", line) if in_attributes else None
        if field:
            out.append(f"- `{field.group(1)}`: {field.group(2)}")
        elif in_attributes and line.startswith("        "):
            out[-1] += " " + line.strip()
        else:
            in_attributes = in_attributes and bool(line.strip())
            out.append(line)
    return re.sub(r":(?:data|class|func|mod):`~?([\w.]+)`", r"`\1`", "\n".join(out))


def parameters_reference() -> str:
    """Per block: its class's docstring, each sub-block's, and the defaults file as it is."""
    out = []
    for block, path in BLOCKS.items():
        cls = _class(path)
        source = CONF / "base" / f"parameters_{block}.yml"
        out += [f"### `{block}`", "", _doc(cls), ""]
        for field in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else []:
            inner = field.type if isinstance(field.type, type) else None
            if inner is None:
                resolved = inspect.get_annotations(cls, eval_str=True).get(field.name)
                inner = resolved if isinstance(resolved, type) else None
            if inner is not None and dataclasses.is_dataclass(inner) and inner.__doc__:
                out += [f"**`{block}.{field.name}`**: " + _doc(inner), ""]
        overrides = [env.name for env in sorted(CONF.iterdir()) if (env / source.name).is_file() and env.name != "base"]
        out += [f"Defaults, `conf/base/{source.name}`"
                + (f" (envs that change some: {', '.join(f'`{e}`' for e in overrides)})" if overrides else "") + ":",
                "", "```yaml", source.read_text().rstrip(), "```", ""]  # fmt: skip
    return "\n".join(out)


def catalog_reference() -> str:
    """Every entry of ``conf/base/catalog.yml``, and what ``conf/catalogue`` replaces."""
    rows = ["| dataset | type | where | layer |", "|---|---|---|---|"]
    for env in ("base", "catalogue"):
        entries = yaml.safe_load((CONF / env / "catalog.yml").read_text())
        for name, entry in entries.items():
            if name.startswith("_") or not isinstance(entry, dict):
                continue
            kind = entry.get("dataset", entry.get("type", ""))
            kind = kind if isinstance(kind, str) else kind.get("type", "")
            where = entry.get("filepath") or entry.get("path") or ""
            layer = (entry.get("metadata") or {}).get("kedro-viz", {}).get("layer", "")
            label = f"`{name}`" + (" (`catalogue` env)" if env == "catalogue" else "")
            rows.append(f"| {label} | `{kind}` | `{where}` | {layer} |".replace("${globals:", "${"))
    return "\n".join(rows)
