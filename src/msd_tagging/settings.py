"""Project settings (Kedro defaults unless noted).

https://docs.kedro.org/en/stable/configure/configuration_basics/
"""

from kedro.config import OmegaConfigLoader

from msd_tagging.framework.hooks import RawDataHooks, RunCostHooks, RunStartHooks, plain_logs_outside_terminal
from msd_tagging.framework.quiet import quiet_dependencies
from msd_tagging.framework.run_record import RunRecordHooks
from msd_tagging.framework.session import ProjectSession
from msd_tagging.framework.tracking import tracking_hooks

# Dependencies' warnings that are not ours to fix, silenced narrowly (msd_tagging.framework.quiet):
# Kedro runs the same function at start-up, before plugins load (a `kedro.init` entry point).
quiet_dependencies()

# Outside a terminal, plain unwrapped log lines from the first record on (msd_tagging.framework.hooks);
# the RunStartHooks do it again in case logging was configured after this import.
plain_logs_outside_terminal()

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # parameters_<pipeline>.yml per pipeline (spaceflights layout).
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    },
    # An env (conf/msd) overrides single keys of base parameters and globals, not whole blocks.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}

_COSTS = RunCostHooks()
# Pluggy calls the last registered first: the run record is written before MLflow logs it.
HOOKS = (RunStartHooks(), _COSTS, RawDataHooks(), *tracking_hooks(), RunRecordHooks())
# kedro-mlflow (the `mlflow` extra) runs through msd_tagging.framework.tracking, not its own hook.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")  # its metadata spells it either way

# `kedro run --pipeline=hybrid` runs the env's ingestion source (msd_tagging.framework.session).
SESSION_CLASS = ProjectSession
