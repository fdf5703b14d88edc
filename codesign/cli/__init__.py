"""Command-line interface: the only place that prints or draws progress."""

from codesign.cli.app import app

__all__ = ["app"]
