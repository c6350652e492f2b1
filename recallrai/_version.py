"""The package version, in one place (read by pyproject and the User-Agent)."""

__version__ = "1.0.0"
