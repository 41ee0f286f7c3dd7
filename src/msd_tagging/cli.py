"""The project's own CLI commands, which Kedro puts above its built-in ones.

``kedro package`` is Kedro's, except that the configuration archive never holds
credentials: Kedro's own leaves out only ``conf/local/*.yml``, but an env copied for a
catalogue (``conf/shop``) keeps its ``credentials.yml`` beside its other files, because
``--env shop`` does not read ``conf/local``.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tarfile
from pathlib import Path

import click

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
