"""The ``bulletins`` command line: thin wrappers, one library call per command."""

from pipeline.cli.main import main

__all__ = ["main"]
