"""``python -m codesign``: the same command-line interface as the ``codesign`` script."""

from codesign.cli import app

app()
