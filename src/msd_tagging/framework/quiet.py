"""Warnings of dependencies that are not ours to fix, silenced narrowly by message and module.

:func:`quiet_dependencies` runs twice: as a ``kedro.init`` entry point, when the ``kedro``
command starts and before it imports plugins (kedro-mlflow imports MLflow, which warns
while it defines a class), and when ``settings.py`` is imported (a notebook, a test, a
script that creates a session). A leaf module: nothing but ``warnings``.
"""

from __future__ import annotations

import logging
import warnings

# MLflow 3 warns about a model class kedro-mlflow defines, inside its own "once" filter,
# which overrides any of ours: these are dropped where Kedro shows captured warnings.
_SHOWN_BY_LOGGING = ("Add type hints to the `predict` method", "Any type hint is inferred as AnyType")


class _DropMLflowTypeHintWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.args[0]) if record.args else record.getMessage()
        return not any(part in text for part in _SHOWN_BY_LOGGING)


def quiet_dependencies() -> None:
    # The documented `kedro run --pipeline=hybrid` still works in Kedro 1.x (`--pipelines`
    # is the new spelling; msd_tagging.cli silences it again where a plugin reset filters).
    warnings.filterwarnings("ignore", message=r"Option '--pipeline' is deprecated", module=r"kedro\.framework\.cli\.")
    # OmegaConf 2.4 deprecates a call that Kedro's config loader and kedro-mlflow make.
    for module in (r"kedro\.config\.omegaconf_config", r"kedro_mlflow\."):
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", module=module)
    # kedro-viz 12.5 imports a FastAPI response class that FastAPI 0.16x deprecates.
    warnings.filterwarnings("ignore", message=r"ORJSONResponse is deprecated", module=r"kedro_viz\.")
    # kedro-mlflow 2.0 (the optional `mlflow` extra) defines its config with Pydantic-1-style
    # classes; MLflow 3 warns about type hints of a model class kedro-mlflow defines.
    warnings.filterwarnings(
        "ignore", message=r"Support for class-based `config` is deprecated", module=r"kedro_mlflow\."
    )
    warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method", category=UserWarning)
    captured = logging.getLogger("py.warnings")
    if not any(isinstance(f, _DropMLflowTypeHintWarnings) for f in captured.filters):
        captured.addFilter(_DropMLflowTypeHintWarnings())
