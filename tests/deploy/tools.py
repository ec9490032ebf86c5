"""External tools of the deploy tests: Debian's packages, which .ci/run installs. Missing
locally, a test that needs one is skipped with the reason; missing in CI (CI=true), it fails."""

from __future__ import annotations

import os
import shutil

import pytest


def need(*names: str, package: str) -> str:
    """The first of ``names`` found on PATH; skips (fails when CI=true) without any."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    reason = f"{' / '.join(names)} not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required in CI")
    pytest.skip(reason)
