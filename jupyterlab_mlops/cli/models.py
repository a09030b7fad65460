"""``jupyter mlops models …`` and ``jupyter mlops lineage REF``: the model registry from a shell."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InvalidInput
from ..refs import parse_ref
from .common import CommandContext, print_json, print_table


def _pairs(values: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} must be KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def _metrics(values: list[str]) -> dict[str, float]:
    metrics = {}
    for key, value in _pairs(values, "--metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {key}: {value!r} is not a number") from None
    return metrics


def _fmt_metrics(metrics: dict[str, Any], limit: int = 4) -> str:
    items = list(metrics.items())[:limit]
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items)
    return text + (", …" if len(metrics) > limit else "")


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="Model registry: versions, aliases, lineage.")
    commands = models.add_subparsers(title="models commands", metavar="COMMAND")
    models.set_defaults(func=lambda context, args: models.print_help() or 0)

    p = commands.add_parser("list", help="List registered models (or the versions of one).")
    p.add_argument("name", nargs="?", help="List this model's versions instead.")
    p.add_argument("-q", "--query", help="Substring of the model name or description.")
    p.add_argument("--tag", help="KEY or KEY=VALUE on the model's or a version's tags.")
    p.add_argument("--alias", help="Only models that have this alias.")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_list)

    p = commands.add_parser("show", help="Show a model (NAME) or a version (NAME/3, NAME@alias).")
    p.add_argument("ref")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_show)

    p = commands.add_parser(
        "promote", help="Point an alias at a version, through the model's quality gate."
    )
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("alias", help="e.g. staging, production")
    p.add_argument("--reason", default="", help="Why (recorded in the audit log).")
    p.add_argument("--force", action="store_true", help="Override a failing gate (needs --reason).")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_promote)

    p = commands.add_parser("rollback", help="Move an alias back to its previous version.")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("--reason", default="")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_rollback)

    p = commands.add_parser("unset-alias", help="Remove an alias from a model.")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("--reason", default="")
    p.set_defaults(func=run_unset_alias)

    p = commands.add_parser("lineage", help="Print the lineage of a version.")
    _lineage_arguments(p)

    p = commands.add_parser("register", help="Register a model file produced by a run.")
    p.add_argument("name")
    p.add_argument("--run", required=True, dest="run_id", help="The run that produced it.")
    p.add_argument("--artifact", required=True, help="Name or sha256 of the run's model file.")
    p.add_argument("--sample", help="A CSV/Parquet artifact of the run: signature and profile.")
    p.add_argument("--target", help="The label column of --sample.")
    p.add_argument("--metric", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--description", default="")
    p.add_argument("--trust", action="store_true", help="Accept a pickle/joblib file.")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_register)

    for action in ("archive", "unarchive"):
        p = commands.add_parser(action, help=f"{action.capitalize()} a version.")
        p.add_argument("name")
        p.add_argument("version", type=int)
        p.add_argument("--reason", default="")
        p.set_defaults(func=run_archive, action=action)

    p = commands.add_parser("audit", help="The audit log of a model (newest first).")
    p.add_argument("name")
    p.add_argument("--alias")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_audit)

    p = commands.add_parser("gate", help="Show or set a model's quality gate.")
    p.add_argument("name")
    p.add_argument(
        "--set",
        dest="gate",
        metavar="JSON",
        help='e.g. \'{"thresholds": {"auc": {">=": 0.8}}, '
        '"compare": {"metric": "auc", "mode": "max"}}\'; "{}" removes the gate',
    )
    p.add_argument("--reason", default="")
    p.set_defaults(func=run_gate)

    p = subparsers.add_parser("lineage", help="Print the lineage of a model version.")
    _lineage_arguments(p)


def _lineage_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="churn@production, churn/3 or churn (latest)")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run_lineage)


def run_list(context: CommandContext, args: argparse.Namespace) -> int:
    registry = context.mlops.registry
    if args.name:
        page = registry.list_versions(args.name, offset=args.offset, limit=args.limit)
        if args.json:
            print_json(page)
            return 0
        print_table(
            [
                (
                    v["version"],
                    ",".join(v["aliases"]),
                    v["model_class"].rsplit(".", 1)[-1],
                    _fmt_metrics(v["metrics"]),
                    v["run_id"] or "",
                    "archived" if v["archived"] else "",
                    v["created_at"][:19],
                )
                for v in page["items"]
            ],
            ["version", "aliases", "class", "metrics", "run", "state", "created"],
        )
    else:
        page = registry.list_models(
            q=args.query, tag=args.tag, alias=args.alias, offset=args.offset, limit=args.limit
        )
        if args.json:
            print_json(page)
            return 0
        print_table(
            [
                (
                    m["name"],
                    m["latest_version"] or "",
                    m["version_count"],
                    ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items()),
                    _fmt_metrics((m["latest"] or {}).get("metrics", {})),
                    m["updated_at"][:19],
                )
                for m in page["items"]
            ],
            ["model", "latest", "versions", "aliases", "latest metrics", "updated"],
        )
    shown = len(page["items"])
    if page["total"] > shown:
        print(f"({shown} of {page['total']}; use --offset/--limit for more)")
    return 0


def run_show(context: CommandContext, args: argparse.Namespace) -> int:
    registry = context.mlops.registry
    ref = parse_ref(args.ref)
    if ref.version is None and ref.alias is None:
        data = registry.get_model(ref.name)
        if args.json:
            print_json(data)
            return 0
        latest = data["latest_version"]
        print(f"{data['name']}: {data['version_count']} version(s), latest v{latest}")
        if data["description"]:
            print(f"  {data['description']}")
        for alias, version in data["aliases"].items():
            print(f"  @{alias} → v{version}")
        if data["gate"]:
            print(f"  gate: {json.dumps(data['gate'])}")
        return 0
    data = registry.resolve(ref)
    if args.json:
        print_json(data)
        return 0
    signature = data.get("signature") or {}
    lines = {
        "version": f"{data['name']} v{data['version']}"
        + (f" (@{', @'.join(data['aliases'])})" if data["aliases"] else "")
        + (" [archived]" if data["archived"] else ""),
        "class": f"{data['model_class']} ({data['flavour']})",
        "artifact": f"{data['serialization']} sha256:{data['artifact_sha256']}",
        "metrics": _fmt_metrics(data["metrics"], limit=20),
        "params": ", ".join(f"{k}={v}" for k, v in data["params"].items()),
        "inputs": ", ".join(f"{i['name']}:{i['kind']}" for i in signature.get("inputs", [])),
        "output": json.dumps(signature.get("output", {})),
        "run": data["run_id"] or "",
        "created": f"{data['created_at'][:19]} by {data['created_by']}",
    }
    for key, value in lines.items():
        print(f"{key:>9}: {value}")
    return 0


def _print_alias_change(result: dict[str, Any], verb: str) -> None:
    before = result.get("previous_version")
    origin = f"v{before}" if before is not None else "(unset)"
    print(f"{result['name']}@{result['alias']}: {origin} → v{result['version']} ({verb})")


def run_promote(context: CommandContext, args: argparse.Namespace) -> int:
    result = context.mlops.registry.set_alias(
        args.name, args.alias, args.version, user=context.user, reason=args.reason, force=args.force
    )
    if args.json:
        print_json(result)
    elif not result["changed"]:
        print(f"{args.name}@{args.alias} already points at v{args.version}")
    else:
        _print_alias_change(result, "forced past the gate" if result["forced"] else "promoted")
    return 0


def run_rollback(context: CommandContext, args: argparse.Namespace) -> int:
    result = context.mlops.registry.rollback(
        args.name, args.alias, user=context.user, reason=args.reason
    )
    if args.json:
        print_json(result)
    else:
        _print_alias_change(result, "rolled back")
    return 0


def run_unset_alias(context: CommandContext, args: argparse.Namespace) -> int:
    result = context.mlops.registry.delete_alias(
        args.name, args.alias, user=context.user, reason=args.reason
    )
    print(f"{args.name}@{args.alias} removed (was v{result['previous_version']})")
    return 0


def run_register(context: CommandContext, args: argparse.Namespace) -> int:
    version = context.mlops.registry.register_run_artifact(
        args.name,
        args.run_id,
        args.artifact,
        sample_artifact=args.sample,
        target=args.target,
        metrics=_metrics(args.metric),
        params=_pairs(args.param, "--param"),
        tags=_pairs(args.tag, "--tag"),
        description=args.description,
        user=context.user,
        trust=args.trust,
    )
    if args.json:
        print_json(version)
    else:
        print(
            f"Registered {version['name']} v{version['version']} from run {args.run_id} "
            f"({version['model_class']}, sha256 {version['artifact_sha256'][:12]}…)"
        )
    return 0


def run_archive(context: CommandContext, args: argparse.Namespace) -> int:
    registry = context.mlops.registry
    method = registry.archive if args.action == "archive" else registry.unarchive
    method(args.name, args.version, user=context.user, reason=args.reason)
    print(f"{args.name} v{args.version} {args.action}d")
    return 0


def run_audit(context: CommandContext, args: argparse.Namespace) -> int:
    page = context.mlops.registry.audit(
        args.name, alias=args.alias, offset=args.offset, limit=args.limit
    )
    if args.json:
        print_json(page)
        return 0
    print_table(
        [
            (
                e["created_at"][:19],
                e["user"],
                e["action"] + (" (forced)" if e["forced"] else ""),
                e["alias"] or "",
                "" if e["from_version"] is None else f"v{e['from_version']}",
                "" if e["to_version"] is None else f"v{e['to_version']}",
                e["reason"],
            )
            for e in page["items"]
        ],
        ["time", "user", "action", "alias", "from", "to", "reason"],
    )
    return 0


def run_gate(context: CommandContext, args: argparse.Namespace) -> int:
    registry = context.mlops.registry
    if args.gate is None:
        print_json(registry.get_gate(args.name))
        return 0
    try:
        gate = json.loads(args.gate)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"--set is not valid JSON: {err}") from None
    print_json(registry.set_gate(args.name, gate, user=context.user, reason=args.reason))
    return 0


def format_lineage(chain: dict[str, Any]) -> list[str]:
    """The lineage as aligned text lines (shared by the CLI and the magic)."""
    model = chain["model"]
    aliases = f" (@{', @'.join(model['aliases'])})" if model["aliases"] else ""
    lines = [f"{model['name']} v{model['version']}{aliases}  {model['model_class']}"]

    def row(label: str, text: str) -> None:
        lines.append(f"  {label:<12} {text}")

    row("artifact", f"{model['serialization']} sha256:{model['artifact_sha256']}")
    row("registered", f"{(model['created_at'] or '')[:19]} by {model['created_by']}")
    run = chain["run"]
    if run:
        row("run", f"{run['id']} ({run['kind']}, {run['status']}, by {run['created_by']})")
        notebook = chain["notebook"] or {}
        row("notebook", f"{notebook.get('path')}  sha256:{notebook.get('sha256') or '?'}")
        params = ", ".join(f"{k}={v!r}" for k, v in chain["parameters"].items())
        row("parameters", params or "(none)")
        if chain["inputs"]:
            for i, (path, digest) in enumerate(chain["inputs"].items()):
                row("inputs" if i == 0 else "", f"{path}  sha256:{digest}")
        else:
            row("inputs", "(none declared)")
        git = chain["git"]
        if git:
            dirty = ", dirty" if git.get("dirty") else ""
            row("git", f"{git.get('commit')} ({git.get('branch')}{dirty})")
        else:
            row("git", "(not a git repository)")
    else:
        row("run", "(registered outside a run)")
    env = chain["environment"] or {}
    python = (env.get("python") or {}).get("version", "?")
    kernel = (env.get("kernel") or {}).get("name")
    packages = env.get("packages") or {}
    system = env.get("platform") or {}
    row(
        "environment",
        f"python {python}"
        + (f", kernel {kernel}" if kernel else "")
        + f", {len(packages)} packages"
        + (f", {system.get('system')} {system.get('machine')}" if system else ""),
    )
    if chain["missing"]:
        row("missing", ", ".join(chain["missing"]))
    return lines


def run_lineage(context: CommandContext, args: argparse.Namespace) -> int:
    chain = context.mlops.registry.lineage(args.ref)
    if args.json:
        print_json(chain)
    else:
        print("\n".join(format_lineage(chain)))
    return 0
