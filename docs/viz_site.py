"""Build kedro-viz's static site into build/, ready to publish.

``kedro viz build`` writes dataset paths as this machine resolved them (``/home/you/
msd-tagging/data/...``). This runs it, then rewrites the project's absolute path to a
relative one in every file of the site, so nothing of the builder's machine is published::

    python docs/viz_site.py          # or: make viz-site
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    subprocess.run([sys.executable, "-m", "kedro", "viz", "build"], cwd=PROJECT, env=env, check=True)
    site = PROJECT / "build"
    prefixes = [f"{PROJECT.as_posix()}/", PROJECT.as_posix()]
    rewritten = 0
    for path in site.rglob("*"):
        if not path.is_file() or path.suffix in (".png", ".jpg", ".ico", ".woff", ".woff2", ".ttf"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if any(p in text for p in prefixes):
            for prefix in prefixes:
                text = text.replace(prefix, "" if prefix.endswith("/") else ".")
            path.write_text(text, encoding="utf-8")
            rewritten += 1
    print(
        f"kedro-viz site in {site.relative_to(PROJECT)}/ ({rewritten} files made path-relative); open ?pid=method for the method view"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
