"""slamon: a streaming SLA monitor for repair and field-service tickets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("slamon")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
