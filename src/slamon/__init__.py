"""slamon: a streaming SLA monitor for repair and field-service tickets."""

# The one place the version is written: pyproject.toml reads it from here (dynamic), so no
# command pays for importlib.metadata (~70 ms) at start.
__version__ = "0.1.0"

__all__ = ["__version__"]
