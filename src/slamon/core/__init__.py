"""The pure core: SLA arithmetic and every rule of the contract; stdlib only, no I/O.

Installed with ``pip install .`` it is compiled by mypyc (setup.py) when a C compiler is
there; the same modules run as plain Python otherwise, and in an editable install.
"""

from importlib.util import find_spec


def build() -> str:
    """Which build of the core runs: ``compiled by mypyc`` or ``pure Python``."""
    spec = find_spec("slamon.core.engine")
    origin = (spec.origin if spec is not None else None) or ""
    return "pure Python" if origin.endswith(".py") else "compiled by mypyc"
