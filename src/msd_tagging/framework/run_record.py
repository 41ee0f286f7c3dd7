"""What made a run's results: one record per run, beside its versioned Table 1.

After every pipeline run, :class:`RunRecordHooks` writes
``<data_root>/08_reporting/<run_name>/run_record.json/<version>/run_record.json``. The
version is the run's save version, the folder its Table 1 and extended table are saved
under, so a past Table 1 leads to its record (``msd-tagging-runs --show
VERSION``). The record holds:

* the run: env, pipelines, runtime ``--params``, node filters, Kedro's run id;
* the code: the git commit and whether the work tree had uncommitted changes, and the
  versions of Python and of the packages that compute results;
* every parameter of the env, as the nodes saw them;
* the inputs: each file the pipeline read without writing it (size, modification time,
  SHA-256 up to :data:`HASH_LIMIT` bytes);
* the outputs: each model and model-output file the run wrote, by SHA-256. Those files
  are overwritten by the next run, so each is also kept, content-addressed, as a hard
  link ``<data_root>/09_runs/<run_name>/objects/<digest><suffix>`` (no copy, no extra
  space until the next run replaces the file): the model that made a past Table 1 stays
  loadable.

``make clean-data`` removes them with the rest of ``data/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

HASH_LIMIT = 2**30  # inputs larger than this are recorded by size and time, not hashed
ARCHIVED_LAYERS = ("06_models", "07_model_output")  # overwritten each run: kept by content
PACKAGES = ("msd_tagging", "kedro", "kedro-datasets", "torch", "implicit", "numpy", "pandas", "scikit-learn",
            "librosa", "soundfile", "openTSNE")  # fmt: skip


# Folders of measured results: a benchmark or a README refresh rewrites them, no run reads them,
# so a change there does not make a run's or a benchmark's code "+changes".
RESULTS_FOLDERS = ("benchmarks/results", "docs/results", "docs/images")


def git_state(path: Path, ignore: tuple[str, ...] = ()) -> dict:
    """``{"commit", "dirty"}`` of the work tree at ``path`` (changes under the ``ignore``
    folders aside); ``None``s outside git."""
    spec = ["--", ".", *(f":!{folder}" for folder in ignore)] if ignore else []
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", *spec],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def commit_label(path: Path) -> str:
    """The short commit of the work tree at ``path``, ``+changes`` where tracked files differ
    from it (``unknown`` outside git): what a benchmark's results say they were run at.
    Results files rewritten by an earlier benchmark are not code changes."""
    state = git_state(path, ignore=RESULTS_FOLDERS)
    if not state["commit"]:
        return "unknown"
    return state["commit"][:7] + ("+changes" if state["dirty"] else "")


def recorded_commit(reporting: Path) -> str | None:
    """The commit the newest run record under ``reporting`` was made at, ``+changes`` where
    its tree was dirty; ``None`` without a record (or one made outside git)."""
    records = sorted(Path(reporting).glob("run_record.json/*/run_record.json"))
    if not records:
        return None
    code = json.loads(records[-1].read_text()).get("code") or {}
    if not code.get("commit"):
        return None
    return code["commit"][:7] + ("+changes" if code.get("dirty") else "")


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``, else what ``platform`` says; may be "")."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_label() -> str:
    """The processor's model, its architecture, the cores and Python: which machine gave a
    number (two x86_64 machines with 2 cores gave Table 1 figures 0.003 apart)."""
    model = cpu_model()
    where = f"{model} ({platform.machine()})" if model else platform.machine()
    return f"{where}, {os.cpu_count()} cores, Python {platform.python_version()}"


def sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def dataset_path(dataset: Any) -> Path | None:
    """The local file a catalog dataset reads or writes, when it names one."""
    path = getattr(dataset, "filepath", None)  # the project's datasets say it (kedro-datasets' keep it private)
    if path is None:
        return None
    path = Path(str(path))
    return path if path.is_absolute() or path.exists() else Path.cwd() / path


def plain(value: Any) -> Any:
    """Parameters as the nodes saw them (typed blocks, :mod:`msd_tagging.params`) as JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# A parameter whose key names a secret (db_password, api_key, access_token, ...) is masked
# in the run record and in MLflow: runtime --params reach both.
SECRET_KEY = re.compile(r"password|passwd|secret|token|credential|(?:^|[_.\-])(?:api)?keys?(?:$|[_.\-])|apikey", re.I)
MASK = "***"


def is_secret(key: object) -> bool:
    """Whether a parameter's key names a secret (``password``, ``token``, ``secret``, ``key``, ``credential``)."""
    return bool(SECRET_KEY.search(str(key)))


def masked(value: Any) -> Any:
    """``value`` (plain JSON data) with the value of every key that names a secret replaced by ``***``."""
    if isinstance(value, dict):
        return {k: MASK if is_secret(k) else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _input(path: Path) -> dict:
    if not path.exists():
        return {"path": str(path), "exists": False}
    stat = path.stat()
    entry = {
        "path": str(path),
        "bytes": stat.st_size if path.is_file() else None,
        "modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds"),
    }
    if path.is_file() and stat.st_size <= HASH_LIMIT:
        entry["sha256"] = sha256(path)
    elif path.is_dir():
        entry["kind"] = "folder"
    return entry


def _output(path: Path, objects: Path) -> dict:
    entry = {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256(path)}
    if any(layer in path.parts for layer in ARCHIVED_LAYERS):
        kept = objects / f"{entry['sha256'][:32]}{''.join(path.suffixes)}"
        if not kept.exists():
            objects.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, kept)
            except OSError as exc:  # another file system: the digest still identifies it
                logger.warning("Could not keep %s by content in %s (%s); its digest is recorded.", path, objects, exc)
                return entry
        entry["kept_as"] = str(kept)
    return entry


def build_record(run_params: dict, parameters: dict, pipeline, catalog, objects: Path) -> dict:
    """The run record (see the module) of one finished pipeline run."""
    project = Path(run_params.get("project_path") or Path.cwd())
    inputs, outputs = {}, {}
    written = pipeline.all_outputs()
    for name in sorted(pipeline.datasets()):
        if name.startswith("params:") or name == "parameters" or name not in catalog:
            continue
        path = dataset_path(catalog[name])
        if path is None:
            continue
        if name in written:
            if path.is_file():
                outputs[name] = _output(path, objects)
        elif name in pipeline.inputs():
            inputs[name] = _input(path)
    keys = (
        "env",
        "pipeline_names",
        "runtime_params",
        "tags",
        "node_names",
        "from_nodes",
        "to_nodes",
        "from_inputs",
        "to_outputs",
        "load_versions",
        "namespaces",
    )
    return {
        "version": run_params.get("run_id"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {**masked(plain({k: run_params.get(k) for k in keys})), "runner": _runner(run_params.get("runner"))},
        "code": {**git_state(project, ignore=RESULTS_FOLDERS), "packages": _versions()},
        "machine": machine_label(),
        "parameters": masked(plain(parameters)),
        "inputs": inputs,
        "outputs": outputs,
    }


def _runner(runner: Any) -> str | None:
    """The runner by class name (Kedro passes the object; its repr holds a memory address)."""
    if runner is None or isinstance(runner, str):
        return runner
    return type(runner).__name__


class RunRecordHooks:
    """Writes the run record after every pipeline run (see the module)."""

    def __init__(self):
        self._context = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._context = context

    def _reporting(self, catalog, run_params: dict) -> Path:
        """The run's reporting folder, where its Table 1 is saved (else from globals.yml)."""
        if "table_1_json" in catalog and (path := dataset_path(catalog["table_1_json"])) is not None:
            return path.parent
        try:
            globals_ = self._context.config_loader["globals"]
        except Exception:  # noqa: BLE001 - no globals.yml: Kedro's default layout
            globals_ = {}
        run_name = str(globals_.get("run_name", run_params.get("env") or "base"))
        return Path(str(globals_.get("data_root", "data"))) / "08_reporting" / run_name

    @hook_impl
    def after_pipeline_run(self, run_params: dict, run_result, pipeline, catalog) -> None:
        if self._context is None:
            return
        reporting = self._reporting(catalog, run_params)
        version = run_params.get("run_id")
        objects = reporting.parent.parent / "09_runs" / reporting.name / "objects"
        record = build_record(run_params, self._context.params, pipeline, catalog, objects)
        path = reporting / "run_record.json" / str(version) / "run_record.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        temporary.write_text(json.dumps(record, indent=2, default=str) + "\n")
        temporary.replace(path)
        logger.info(
            "Run record written to %s (commit %s%s).",
            path,
            (record["code"]["commit"] or "?")[:10],
            ", uncommitted changes" if record["code"]["dirty"] else "",
        )
