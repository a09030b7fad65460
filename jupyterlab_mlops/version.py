"""The package version, importable from every layer without importing the package's API."""

from __future__ import annotations

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    import json
    from pathlib import Path

    __version__ = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())[
        "version"
    ]

__all__ = ["__version__"]
