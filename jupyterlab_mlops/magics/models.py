"""``%mlops register``, ``%mlops models``, ``%mlops promote``, ``%mlops rollback``,
``%mlops lineage``: the model registry from a notebook cell."""

from __future__ import annotations

import argparse
from html import escape
from typing import Any

from IPython.display import HTML, display

from ..errors import InvalidInput
from ..facade.registry import current_run_id
from . import MagicContext, subcommand


def _parser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"%mlops {prog}", add_help=True)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} must be KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table class='jp-mlops-models'><tr>{head}</tr>{body}</table>"


def _metrics(metrics: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )


@subcommand(
    "register",
    "register NAME VARIABLE [--X X_train] [--y y_train] [--metric k=v] [--tag k=v] "
    "[--description TEXT] [--trust-pickle]",
    "Register the model in VARIABLE as the next version of NAME (signature and profile from "
    "X_train/y_train when they exist).",
)
def register(context: MagicContext, args: list[str]) -> dict[str, Any]:
    parser = _parser("register")
    parser.add_argument("name")
    parser.add_argument("variable")
    parser.add_argument("--X", dest="x_var", default=None, help="Training features (X_train).")
    parser.add_argument("--y", dest="y_var", default=None, help="Training labels (y_train).")
    parser.add_argument("--metric", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--description", default="")
    parser.add_argument("--trust-pickle", action="store_true")
    options = parser.parse_args(args)
    namespace = context.namespace
    if options.variable not in namespace:
        raise InvalidInput(f"no variable named {options.variable!r} in the notebook")

    def sample(requested: str | None, default: str) -> Any:
        if requested is not None and requested not in namespace:
            raise InvalidInput(f"no variable named {requested!r} in the notebook")
        return namespace.get(requested or default)

    metrics = {}
    for key, value in _pairs(options.metric, "--metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {key}: {value!r} is not a number") from None
    version = context.mlops.registry.register(
        namespace[options.variable],
        options.name,
        X_sample=sample(options.x_var, "X_train"),
        y_sample=sample(options.y_var, "y_train"),
        metrics=metrics,
        params=_pairs(options.param, "--param"),
        tags=_pairs(options.tag, "--tag"),
        description=options.description,
        run_id=current_run_id(),
        user=context.mlops.current_user(),
        trust_pickle=options.trust_pickle,
    )
    inputs = len((version.get("signature") or {}).get("inputs", []))
    print(
        f"Registered {version['name']} v{version['version']} ({version['model_class']}, "
        f"{inputs} input column(s), sha256 {version['artifact_sha256'][:12]}…"
        + (f", run {version['run_id']})" if version["run_id"] else ")")
    )
    return version


@subcommand("models", "models [NAME]", "List registered models, or the versions of NAME.")
def models(context: MagicContext, args: list[str]) -> None:
    parser = _parser("models")
    parser.add_argument("name", nargs="?")
    parser.add_argument("--limit", type=int, default=50)
    options = parser.parse_args(args)
    registry = context.mlops.registry
    if options.name:
        page = registry.list_versions(options.name, limit=options.limit)
        rows = [
            [
                v["version"],
                ", ".join(v["aliases"]),
                v["model_class"].rsplit(".", 1)[-1],
                _metrics(v["metrics"]),
                v["run_id"],
                "archived" if v["archived"] else "",
                v["created_at"][:19],
            ]
            for v in page["items"]
        ]
        headers = ["version", "aliases", "class", "metrics", "run", "state", "created"]
    else:
        page = registry.list_models(limit=options.limit)
        rows = [
            [
                m["name"],
                m["latest_version"],
                m["version_count"],
                ", ".join(f"{a} → v{v}" for a, v in m["aliases"].items()),
                _metrics((m["latest"] or {}).get("metrics", {})),
            ]
            for m in page["items"]
        ]
        headers = ["model", "latest", "versions", "aliases", "latest metrics"]
    if not rows:
        print("No models registered yet." if not options.name else "No versions.")
        return None
    more = f"<p>{len(rows)} of {page['total']}</p>" if page["total"] > len(rows) else ""
    display(HTML(_table(headers, rows) + more))
    return None


@subcommand(
    "promote",
    "promote NAME VERSION ALIAS [--reason TEXT] [--force]",
    "Point ALIAS (staging, production, …) at VERSION through the quality gate.",
)
def promote(context: MagicContext, args: list[str]) -> dict[str, Any]:
    parser = _parser("promote")
    parser.add_argument("name")
    parser.add_argument("version", type=int)
    parser.add_argument("alias")
    parser.add_argument("--reason", default="")
    parser.add_argument("--force", action="store_true")
    options = parser.parse_args(args)
    result = context.mlops.registry.set_alias(
        options.name,
        options.alias,
        options.version,
        user=context.mlops.current_user(),
        reason=options.reason,
        force=options.force,
    )
    before = result["previous_version"]
    origin = "(unset)" if before is None else f"v{before}"
    note = " — forced past the quality gate" if result["forced"] else ""
    if not result["changed"]:
        print(f"{options.name}@{options.alias} already points at v{options.version}")
    else:
        print(f"{options.name}@{options.alias}: {origin} → v{options.version}{note}")
    return result


@subcommand("rollback", "rollback NAME ALIAS [--reason TEXT]", "Move ALIAS back one version.")
def rollback(context: MagicContext, args: list[str]) -> dict[str, Any]:
    parser = _parser("rollback")
    parser.add_argument("name")
    parser.add_argument("alias")
    parser.add_argument("--reason", default="")
    options = parser.parse_args(args)
    result = context.mlops.registry.rollback(
        options.name, options.alias, user=context.mlops.current_user(), reason=options.reason
    )
    print(
        f"{options.name}@{options.alias}: v{result['previous_version']} → v{result['version']} "
        "(rolled back)"
    )
    return result


@subcommand("lineage", "lineage REF", "Show run, notebook, data and environment of a version.")
def lineage(context: MagicContext, args: list[str]) -> None:
    from ..cli.models import format_lineage

    parser = _parser("lineage")
    parser.add_argument("ref")
    options = parser.parse_args(args)
    print("\n".join(format_lineage(context.mlops.registry.lineage(options.ref))))
    return None
