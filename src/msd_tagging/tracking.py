"""Runs tracked in MLflow through kedro-mlflow, when the ``mlflow`` extra is installed.

``pip install -e ".[mlflow]"`` adds kedro-mlflow; every ``kedro run`` is then an MLflow run
in the tracking store that ``conf/base/mlflow.yml`` names (a SQLite file,
``data/09_runs/mlflow.db``: MLflow 3 refuses the plain file store), with:

* every parameter flattened (``listening.bpr.factors``, not one blob per block), as the
  nodes saw them (the typed blocks of :mod:`msd_tagging.params`, defaults included);
* every scorer's macro metrics on its split as MLflow metrics (``hybrid.roc_auc``,
  ``hybrid.pr_auc``, and the 95 % interval's ends, ``hybrid.roc_auc_low`` ...);
* the figures, Table 1, the extended table, the catalogue report and the run record
  (:mod:`msd_tagging.run_record`) as artifacts;
* the commit and its dirty flag as tags.

kedro-mlflow's own hook is disabled in ``settings.py`` (it would log each block as one
string) and runs through :class:`ProjectMlflowHook`, which changes only what is logged.
``MSD_TAGGING_MLFLOW=0`` turns tracking off with the extra installed (the test suite
does, except for its MLflow test). ``kedro mlflow ui --env <env>`` shows the runs.

The store and the artifacts stay under ``<data_root>/09_runs/`` (git-ignored with the
rest of ``data/``), never in a ``mlruns/`` folder of the checkout. Parameters whose key
names a secret are masked (:func:`msd_tagging.run_record.masked`). Tracking never fails a
run: a store that cannot be written is named before the first node, and a failure while
logging a finished run is a warning naming the store and the off switch.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

try:  # the optional `mlflow` extra
    import mlflow
    from kedro.framework.hooks import hook_impl
    from kedro_mlflow.framework.hooks import MlflowHook
except ImportError:
    MlflowHook = None

logger = logging.getLogger(__name__)

SWITCH = "MSD_TAGGING_MLFLOW"
ARTIFACTS = ("table_1_markdown", "extended_table_markdown", "catalogue_report_markdown")


def tracking_hooks() -> tuple:
    """The MLflow hook when kedro-mlflow is installed, else none."""
    return () if MlflowHook is None else (ProjectMlflowHook(),)


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


def log_run(context, run_params: dict, pipeline, catalog, run_id: str) -> None:
    """Log what the module says to the active MLflow run: parameters, metrics, artifacts, code."""
    import mlflow

    from msd_tagging.run_record import dataset_path, git_state, masked, plain
    from msd_tagging.runs import flatten

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
        if path is None:
            continue
        latest = _latest(path)
        if latest is not None and (latest.suffix == ".png" or name in ARTIFACTS):
            mlflow.log_artifact(str(latest), artifact_path="reporting")
    record = next(iter(sorted((_reporting(catalog) / "run_record.json").glob("*/run_record.json"))[-1:]), None)
    if record is not None:
        mlflow.log_artifact(str(record), artifact_path="reporting")
    logger.info("MLflow: %d parameters, %d metrics logged to run %s.", len(params), len(metrics), run_id)


def sqlite_store(uri: str | None) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI (relative to the working folder), else None."""
    if not uri or not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def configured_uri(context) -> str | None:
    """The tracking URI ``conf/<env>/mlflow.yml`` names (kedro-mlflow's own pattern for the file)."""
    from kedro.config import MissingConfigException

    loader = context.config_loader
    loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
    try:
        return ((loader["mlflow"] or {}).get("server") or {}).get("mlflow_tracking_uri")
    except MissingConfigException:
        return None


def check_store(uri: str | None) -> None:
    """Stop before the first node when the SQLite store cannot be written: naming it, and
    how to turn tracking off."""
    from msd_tagging.errors import MSDDataError

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


def _warn_about_old_artifacts(experiment: str, uri: str | None) -> None:
    """An experiment created before the store had an artifact location of its own keeps
    writing to ``mlruns/`` in the working folder: say so, and how to move on."""
    found = mlflow.get_experiment_by_name(experiment)
    location = (found.artifact_location or "") if found is not None else ""
    if location.startswith("file:") and location.rstrip("/").endswith("/mlruns/" + found.experiment_id):
        logger.warning(
            "MLflow experiment %r keeps its artifacts in %s (it was made before they moved under data/): they stay "
            "git-ignored there. Delete the store %s to keep new runs' artifacts beside it.",
            experiment, location, sqlite_store(uri) or uri,
        )  # fmt: skip


def _warn_failed(what: str, uri: str | None, exc: BaseException) -> None:
    logger.warning(
        "MLflow tracking failed while %s (%s: %s); the run's own outputs are complete. Store: %s. Check the store, "
        "or turn tracking off with %s=0.",
        what, type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "", uri, SWITCH,
    )  # fmt: skip


if MlflowHook is not None:

    class ProjectMlflowHook(MlflowHook):
        """kedro-mlflow's hook, with this project's parameters, metrics and artifacts."""

        def __init__(self):
            super().__init__()
            self._on = False
            self._context = None

        @hook_impl
        def after_context_created(self, context) -> None:
            self._on = os.environ.get(SWITCH, "1") not in ("0", "false", "no")
            if not self._on:
                return
            self._context = context
            uri = configured_uri(context)
            check_store(uri)
            try:
                super().after_context_created(context)
            except Exception as exc:  # noqa: BLE001 - a store that refuses us: named, before the first node
                from msd_tagging.errors import MSDDataError

                raise MSDDataError(
                    f"the MLflow tracking store cannot be opened ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}).",
                    path=sqlite_store(uri) or uri,
                    fix=f"check the store, or run without tracking: {SWITCH}=0 kedro run ...",
                ) from exc
            _warn_about_old_artifacts(self.mlflow_config.tracking.experiment.name, uri)

        @hook_impl
        def after_catalog_created(  # noqa: PLR0913 - the hook's own signature
            self, catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
        ) -> None:
            if self._on:
                super().after_catalog_created(
                    catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
                )

        @hook_impl
        def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
            if self._on:  # kedro-mlflow tags the run with its run_params: --params masked there too
                from msd_tagging.run_record import masked

                shown = {k: masked(v) if k in ("runtime_params", "extra_params") else v for k, v in run_params.items()}
                super().before_pipeline_run(shown, pipeline, catalog)

        @hook_impl
        def before_node_run(self, node, catalog, inputs, is_async) -> None:
            if not self._on:
                return
            enabled = self._is_mlflow_enabled
            self._is_mlflow_enabled = False  # the run is reopened, but parameters are logged once, flattened
            try:
                super().before_node_run(node, catalog, inputs, is_async)
            finally:
                self._is_mlflow_enabled = enabled

        @hook_impl
        def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
            if not self._on:
                return
            try:
                if self._is_mlflow_enabled and self.run_id is not None:
                    if mlflow.active_run() is None:
                        mlflow.start_run(run_id=self.run_id, nested=self.mlflow_config.tracking.run.nested)
                    log_run(self._context, run_params, pipeline, catalog, self.run_id)
                super().after_pipeline_run(run_params, pipeline, catalog)
            except Exception as exc:  # noqa: BLE001 - every node finished: tracking must not fail the run
                _warn_failed("logging the finished run", mlflow.get_tracking_uri(), exc)
                if mlflow.active_run() is not None:
                    try:
                        mlflow.end_run("FAILED")
                    except Exception:  # noqa: BLE001 - the store is gone: nothing more to close
                        pass

        @hook_impl
        def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
            if self._on:
                super().on_pipeline_error(error, run_params, pipeline, catalog)


def _latest(path: Path) -> Path | None:
    """A file, or the newest version of a versioned one (``table_1.md/<version>/table_1.md``)."""
    if path.is_file():
        return path
    if path.is_dir():
        versions = sorted(path.glob(f"*/{path.name}"))
        return versions[-1] if versions else None
    return None


def _reporting(catalog) -> Path:
    from msd_tagging.run_record import dataset_path

    path = dataset_path(catalog["table_1_json"]) if "table_1_json" in catalog else None
    return path.parent if path is not None else Path("data/08_reporting")
