"""The project's own CLI commands, which Kedro puts above its built-in ones.

``kedro package`` is Kedro's, except that the configuration archive never holds
credentials: Kedro's own leaves out only ``conf/local/*.yml``, but an env copied for a
catalogue (``conf/shop``) keeps its ``credentials.yml`` beside its other files, because
``--env shop`` does not read ``conf/local``.

``kedro run`` is Kedro's, except that an expected error (bad input data, a wrong
parameter, a configuration file YAML cannot read) prints one readable block instead of
a long traceback. ``kedro run --verbose``, or ``MSD_TAGGING_TRACEBACK=1``, keeps the
traceback for developers; any other error keeps it always.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import click
from kedro.framework.cli.project import run as kedro_run

from msd_tagging.core.errors import expected_error

# Never packaged: the local env, and any credentials file in any env (as .gitignore).
EXCLUDED = ("local/*", "*credentials*")


@click.group(name="msd-tagging")
def cli() -> None:
    """msd-tagging's commands (they replace Kedro's of the same name)."""


@cli.command()
@click.pass_obj
def package(metadata) -> None:
    """Package the project as a wheel, and its configuration, without credentials, as
    ``dist/conf-<package>.tar.gz``."""
    project = Path(metadata.project_path)
    subprocess.check_call([sys.executable, "-m", "build", "--wheel", "--outdir", "dist"], cwd=project)
    archive = conf_archive(project / "conf", project / "dist" / f"conf-{metadata.package_name}.tar.gz")
    click.echo(f"Configuration written to {archive} (credentials and conf/local left out).")


def conf_archive(conf: Path, archive: Path) -> Path:
    """``conf`` as a gzipped tarball at ``archive``, without :data:`EXCLUDED` files."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(conf.rglob("*")):
            relative = path.relative_to(conf).as_posix()
            if path.is_file() and not any(
                fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(path.name, p) for p in EXCLUDED
            ):
                tar.add(path, arcname=f"{conf.name}/{relative}", recursive=False)
    return archive


TRACEBACK_VARIABLE = "MSD_TAGGING_TRACEBACK"


def _readable_errors(callback):
    """``callback`` with its expected errors printed as one block (see the module)."""

    @functools.wraps(callback)
    def wrapper(*args, verbose: bool = False, **kwargs):
        try:
            with warnings.catch_warnings():  # plugins imported before settings.py can reset its filters
                warnings.filterwarnings("ignore", message=r"Option '--pipeline' is deprecated")
                return callback(*args, **kwargs)
        except Exception as exc:
            expected = expected_error(exc)
            if expected is None or verbose or os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0"):
                raise
            click.echo(error_block(expected), err=True)
            raise SystemExit(1) from None

    return wrapper


def error_block(exc: BaseException) -> str:
    """What a user reads when a run stops on an expected error."""
    kind = {
        "MSDDataError": "the input data",
        "ParameterError": "a parameter",
        "ParameterValidationError": "a parameter",
        "ModelInstantiationError": "a parameter",
    }.get(type(exc).__name__, "configuration")
    message = "\n  ".join(str(exc).splitlines())
    return (
        f"\nThe run stopped: a problem in {kind}.\n\n  {message}\n\n"
        f"(`kedro run --verbose ...` or {TRACEBACK_VARIABLE}=1 shows the traceback.)"
    )


run = click.Command(
    name="run",
    callback=_readable_errors(kedro_run.callback),
    params=[
        *kedro_run.params,
        click.Option(["--verbose"], is_flag=True, help="Show the full traceback of an expected data error."),
    ],
    help=kedro_run.help,
    short_help=kedro_run.short_help,
)
cli.add_command(run)
