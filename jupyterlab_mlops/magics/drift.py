"""``%mlops drift``: the drift widget for a deployment, or for two DataFrames of the notebook."""

from __future__ import annotations

import argparse
import time

from IPython.display import display

from ..errors import InvalidInput
from . import MagicContext, subcommand


@subcommand(
    "drift",
    "drift TARGET [--window N | --since SECONDS] [--methods M] | drift --reference DF --current DF",
    "Drift widget: a deployment's recent predictions (TARGET = churn@production, a deployment "
    "name or id) against its version's reference profile, or two DataFrames of the notebook.",
)
def drift(context: MagicContext, args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="%mlops drift", add_help=True)
    parser.add_argument("target", nargs="?", help="model ref, deployment name or id")
    parser.add_argument("--window", type=int, default=None, help="last N predictions")
    parser.add_argument("--since", type=float, default=None, help="the last S seconds")
    parser.add_argument(
        "--methods", default=None, help="one method for all columns, or a JSON object"
    )
    parser.add_argument("--reference", default=None, help="variable holding reference data")
    parser.add_argument("--current", default=None, help="variable holding current data")
    options = parser.parse_args(args)
    if options.window is not None and options.window < 1:
        raise InvalidInput("--window must be a positive number of predictions")
    namespace = context.namespace
    if options.reference or options.current:
        if not (options.reference and options.current):
            raise InvalidInput("give both --reference and --current")
        for name in (options.reference, options.current):
            if name not in namespace:
                raise InvalidInput(f"no variable named {name!r} in the notebook")
        report = context.mlops.drift_report(
            namespace[options.reference], namespace[options.current], options.methods
        )
    else:
        if not options.target:
            raise InvalidInput("name a deployment or model ref, e.g. %mlops drift churn@production")
        since = time.time() - options.since if options.since else None
        report = context.mlops.monitors.deployment_report(
            options.target, last_n=options.window, since=since, methods=options.methods
        )
    display(report)
    return None
