"""Runs tracked in MLflow, when the ``mlflow`` extra is installed: one tracker, on MLflow's
public API.

``pip install -e ".[mlflow]"`` adds MLflow (and kedro-mlflow, for ``kedro mlflow ui`` and
the format of ``conf/<env>/mlflow.yml``). Every ``kedro run`` is then an MLflow run in the
store that file names (a SQLite file, ``data/09_runs/mlflow.db``: MLflow 3 refuses the
plain file store), with:

* every parameter flattened (``listening.bpr.factors``), as the nodes saw them (the typed
  blocks of :mod:`msd_tagging.params`, defaults included), secrets masked
  (:func:`msd_tagging.framework.run_record.masked`);
* every scorer's macro metrics on its split (``hybrid.roc_auc``, ``hybrid.pr_auc``, and the
  95 % interval's ends, ``hybrid.roc_auc_low`` ...);
* the figures, Table 1, the extended table, the catalogue report and the run record
  (:mod:`msd_tagging.framework.run_record`) as artifacts, kept beside the store under
  ``<data_root>/09_runs/`` (git-ignored with the rest of ``data/``);
* the commit and its dirty flag as tags.

kedro-mlflow's own hook is disabled in ``settings.py``: it would log each parameter block
as one string and the raw ``--params`` as a tag. :class:`MlflowTracking` is the only
tracker. ``MSD_TAGGING_MLFLOW=0`` turns it off with the extra installed (the test suite
does, except for its MLflow test). Tracking never fails a run: a store that cannot be
written is named before the first node, and a failure while logging a finished run is a
warning naming the store and the off switch. ``kedro mlflow ui --env <env>`` shows the runs.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

SWITCH = "MSD_TAGGING_MLFLOW"
ARTIFACTS = ("table_1_markdown", "extended_table_markdown", "catalogue_report_markdown")
PATTERNS = ["mlflow*", "mlflow*/**", "**/mlflow*"]  # conf/<env>/mlflow.yml, as kedro-mlflow reads it


def tracking_hooks() -> tuple:
    """The MLflow tracker when MLflow is installed, else none."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return ()
    return (MlflowTracking(),)


def scorer_metrics(name: str, metrics: dict) -> dict[str, float]:
    """``{scorer}_metrics.json`` as MLflow metrics: macro ROC-AUC and PR-AUC, their
    interval's ends, the tracks and tags scored."""
    scorer = name.removesuffix("_metrics")
    out = {}
    for metric in ("roc_auc", "pr_auc"):
        if isinstance(metrics.get(f"{metric}_macro"), int | float):
            out[f"{scorer}.{metric}"] = float(metrics[f"{metric}_macro"])
        interval = (metrics.get("interval") or {}).get(metric)
        if isinstance(interval, list) and len(interval) == 2:
            out[f"{scorer}.{metric}_low"], out[f"{scorer}.{metric}_high"] = map(float, interval)
    for count in ("n_tracks_scored", "n_tags_scored"):
        if isinstance(metrics.get(count), int):
            out[f"{scorer}.{count}"] = float(metrics[count])
    return out


def configured(context) -> dict:
    """``conf/<env>/mlflow.yml`` (``{}`` without one)."""
    from kedro.config import MissingConfigException

    loader = context.config_loader
    loader.config_patterns.setdefault("mlflow", PATTERNS)
    try:
        return dict(loader["mlflow"] or {})
    except MissingConfigException:
        return {}


def sqlite_store(uri: str | None) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI (relative to the working folder), else None."""
    if not uri or not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def check_store(uri: str | None) -> None:
    """Stop before the first node when the SQLite store cannot be written: naming it, and
    how to turn tracking off."""
    from msd_tagging.core.errors import MSDDataError

    store = sqlite_store(uri)
    if store is None:
        return
    folder = next((p for p in (store.parent, *store.parent.parents) if p.exists()), Path("."))
    writable = os.access(store, os.W_OK) if store.exists() else os.access(folder, os.W_OK | os.X_OK)
    if not writable:
        raise MSDDataError(
            "the MLflow tracking store cannot be written (read-only file or folder).",
            path=store,
            fix=f"make it writable, point server.mlflow_tracking_uri of conf/<env>/mlflow.yml elsewhere, or run "
            f"without tracking: {SWITCH}=0 kedro run ...",
        )


def _artifact_location(value: str | None, project: Path) -> str | None:
    """The experiment's artifact location as a URI (a relative path: from the project)."""
    if not value or "://" in value:
        return value
    path = Path(value)
    return (path if path.is_absolute() else project / path).resolve().as_uri()


class MlflowTracking:
    """Opens an MLflow run before the pipeline and logs what the module says after it
    (see the module); MLflow's public API only."""

    def __init__(self):
        self._on, self._context, self._uri, self._run_id = False, None, None, None

    @hook_impl
    def after_context_created(self, context) -> None:
        import mlflow

        from msd_tagging.core.errors import MSDDataError

        self._on = os.environ.get(SWITCH, "1") not in ("0", "false", "no")
        if not self._on:
            return
        self._context = context
        config = configured(context)
        server, tracking = config.get("server") or {}, config.get("tracking") or {}
        self._uri = server.get("mlflow_tracking_uri") or "sqlite:///data/09_runs/mlflow.db"
        check_store(self._uri)
        experiment = tracking.get("experiment") or {}
        name = experiment.get("name", "msd_tagging")
        location = (experiment.get("create_experiment_kwargs") or {}).get("artifact_location")
        self._skipped = set((tracking.get("disable_tracking") or {}).get("pipelines") or [])
        try:
            mlflow.set_tracking_uri(self._uri)
            if mlflow.get_experiment_by_name(name) is None:
                mlflow.create_experiment(name, artifact_location=_artifact_location(location, context.project_path))
            mlflow.set_experiment(name)
        except Exception as exc:  # noqa: BLE001 - a store that refuses us: named, before the first node
            raise MSDDataError(
                f"the MLflow tracking store cannot be opened ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}).",
                path=sqlite_store(self._uri) or self._uri,
                fix=f"check the store, or run without tracking: {SWITCH}=0 kedro run ...",
            ) from exc

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline) -> None:
        import mlflow

        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
        if not self._on or set(names) <= self._skipped:
            self._run_id = None
            return
        try:
            self._run_id = mlflow.start_run(run_name="+".join(names)).info.run_id
        except Exception as exc:  # noqa: BLE001 - tracking must not stop a run
            self._run_id = None
            _warn_failed("opening the run", self._uri, exc)

    @hook_impl
    def after_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        import mlflow

        if self._run_id is None:
            return
        try:
            if mlflow.active_run() is None:
                mlflow.start_run(run_id=self._run_id)
            log_run(self._context, run_params, pipeline, catalog, self._run_id)
            mlflow.end_run()
        except Exception as exc:  # noqa: BLE001 - every node finished: tracking must not fail the run
            _warn_failed("logging the finished run", self._uri, exc)
            _close("FAILED")
        self._run_id = None

    @hook_impl
    def on_pipeline_error(self) -> None:
        if self._run_id is not None:
            _close("FAILED")
            self._run_id = None


def _close(status: str) -> None:
    import mlflow

    try:
        if mlflow.active_run() is not None:
            mlflow.end_run(status)
    except Exception:  # noqa: BLE001 - the store is gone: nothing more to close
        pass


def log_run(context, run_params: dict, pipeline, catalog, run_id: str) -> None:
    """Log what the module says to the active MLflow run: parameters, metrics, artifacts, code."""
    import mlflow

    from msd_tagging.framework.run_record import dataset_path, git_state, masked, plain
    from msd_tagging.framework.runs import flatten

    params = flatten(masked(plain(context.params)))
    mlflow.log_params({k: ("" if v is None else str(v))[:6000] for k, v in params.items()})
    code = git_state(Path(run_params.get("project_path") or Path.cwd()))
    mlflow.set_tags({"git_commit": code["commit"] or "", "git_dirty": str(code["dirty"])})
    written = pipeline.all_outputs()
    metrics = {}
    for name in sorted(n for n in written if n.endswith("_metrics") and n in catalog):
        path = dataset_path(catalog[name])
        if path is not None and path.suffix == ".json" and path.is_file():
            metrics.update(scorer_metrics(name, json.loads(path.read_text())))
    if metrics:
        mlflow.log_metrics(metrics)
    for name in sorted(written):
        if name not in catalog:
            continue
        path = dataset_path(catalog[name])
        latest = _latest(path) if path is not None else None
        if latest is not None and (latest.suffix == ".png" or name in ARTIFACTS):
            mlflow.log_artifact(str(latest), artifact_path="reporting")
    record = next(iter(sorted((_reporting(catalog) / "run_record.json").glob("*/run_record.json"))[-1:]), None)
    if record is not None:
        mlflow.log_artifact(str(record), artifact_path="reporting")
    logger.info("MLflow: %d parameters, %d metrics logged to run %s.", len(params), len(metrics), run_id)


def _warn_failed(what: str, uri: str | None, exc: BaseException) -> None:
    logger.warning(
        "MLflow tracking failed while %s (%s: %s); the run's own outputs are complete. Store: %s. Check the store, "
        "or turn tracking off with %s=0.",
        what,
        type(exc).__name__,
        str(exc).splitlines()[0][:200] if str(exc) else "",
        uri,
        SWITCH,
    )


def _latest(path: Path) -> Path | None:
    """A file, or the newest version of a versioned one (``table_1.md/<version>/table_1.md``)."""
    if path.is_file():
        return path
    if path.is_dir():
        versions = sorted(path.glob(f"*/{path.name}"))
        return versions[-1] if versions else None
    return None


def _reporting(catalog) -> Path:
    from msd_tagging.framework.run_record import dataset_path

    path = dataset_path(catalog["table_1_json"]) if "table_1_json" in catalog else None
    return path.parent if path is not None else Path("data/08_reporting")
