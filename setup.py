"""The compiled core: ``slamon.core`` built by mypyc when the package is installed.

Everything else is in pyproject.toml. ``pip install .`` compiles the core (~1 min; a C
compiler and Python's headers are needed) and falls back to the pure-Python core, with a
warning, when it cannot. ``SLAMON_MYPYC=1`` makes the compiled core required (the build
fails instead), ``SLAMON_MYPYC=0`` skips it. An editable install (``pip install -e``) is
always pure: compiled modules next to the sources would shadow every edit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

CORE = sorted(str(p) for p in Path("src/slamon/core").glob("*.py") if p.name != "__init__.py")
MODE = os.environ.get("SLAMON_MYPYC", "")  # "1": required, "0": off, else: if it builds
# only a build compiles: not metadata (egg_info, dist_info), not an editable install
BUILDS = {"bdist_wheel", "build", "build_ext", "install"}
EDITABLE = "editable_wheel" in sys.argv or "develop" in sys.argv


def _warn(why: object) -> None:
    print(f"slamon: the compiled core is not built ({why}); the pure-Python core is used",  # noqa: T201
          file=sys.stderr)  # fmt: skip


class OptionalBuildExt(build_ext):  # type: ignore[misc]  # setuptools has no types here
    """A failed compile leaves the pure modules alone, unless it is required: nothing
    of it is installed (a module's stub without the shared library would not import)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            if MODE == "1":
                raise
            built: list[Any] = list(self.extensions)
            for ext in built:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            self.extensions: list[Any] = []
            _warn(exc)


def _ext_modules() -> list[Any]:
    if MODE == "0" or EDITABLE or not BUILDS & set(sys.argv):
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415  (only a build needs mypy)
    except ImportError as exc:
        if MODE == "1":
            raise
        _warn(exc)
        return []
    return list(mypycify(CORE, opt_level="3"))


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
