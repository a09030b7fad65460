"""``%mlops info``: which store this notebook writes to."""

from __future__ import annotations

from ..version import __version__
from . import MagicContext, subcommand


@subcommand("info", "info", "Show the version, the store this notebook uses and its counts.")
def info(context: MagicContext, args: list[str]) -> None:
    mlops = context.mlops
    summary = {
        "version": __version__,
        "root_dir": mlops.root_dir,
        "store": mlops.db.display_url,
        "artifact_root": mlops.resolved_artifact_root,
        "counts": mlops.counts(),
    }
    for key, value in summary.items():
        print(f"{key}: {value}")
    return None
