"""The model registry: ``models list|show|promote|rollback|unset-alias|register|archive|
unarchive|audit|gate|lineage``, ``lineage REF``, and the notebook's ``register NAME VARIABLE``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from ..refs import parse_ref
from .arguments import parse_json, parse_metrics, parse_pairs
from .context import Context
from .defaults import PAGE_SIZE, page
from .render import (
    Column,
    Html,
    as_json,
    lines,
    metrics_text,
    more_text,
    pairs_text,
    table_html,
    table_text,
    timestamp,
)
from .spec import EXIT_OK, EXIT_PENDING, Command, Group, arg

GROUPS = [Group("models", "Model registry: versions, aliases, lineage.")]

MODEL_COLUMNS = [
    Column("model", lambda m: m["name"]),
    Column("latest", lambda m: m["latest_version"] or ""),
    Column("versions", lambda m: m["version_count"]),
    Column("aliases", lambda m: ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items())),
    Column("latest metrics", lambda m: metrics_text((m["latest"] or {}).get("metrics"))),
    Column("updated", lambda m: timestamp(m["updated_at"])),
]

VERSION_COLUMNS = [
    Column("version", lambda v: v["version"]),
    Column("aliases", lambda v: ",".join(v["aliases"])),
    Column("class", lambda v: v["model_class"].rsplit(".", 1)[-1]),
    Column("metrics", lambda v: metrics_text(v["metrics"])),
    Column("run", lambda v: v["run_id"] or ""),
    Column("state", lambda v: "archived" if v["archived"] else ""),
    Column("created", lambda v: timestamp(v["created_at"])),
]

AUDIT_COLUMNS = [
    Column("time", lambda e: timestamp(e["created_at"])),
    Column("user", lambda e: e["user"]),
    Column("action", lambda e: e["action"] + (" (forced)" if e["forced"] else "")),
    Column("alias", lambda e: e["alias"] or ""),
    Column("from", lambda e: "" if e["from_version"] is None else f"v{e['from_version']}"),
    Column("to", lambda e: "" if e["to_version"] is None else f"v{e['to_version']}"),
    Column("reason", lambda e: e["reason"]),
]


# -- listing and showing --------------------------------------------------------------------


def list_models(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    registry = context.mlops.registry
    offset, limit = page(options.offset, options.limit)
    if options.name:
        return registry.list_versions(options.name, offset=offset, limit=limit)
    return registry.list_models(
        q=options.query, tag=options.tag, alias=options.alias, offset=offset, limit=limit
    )


def _empty(options: argparse.Namespace) -> str:
    return "No versions." if options.name else "No models registered yet."


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    columns = VERSION_COLUMNS if options.name else MODEL_COLUMNS
    return lines(table_text(columns, data["items"]), more_text(data))


def list_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Any:
    if not data["items"]:
        return _empty(options)
    columns = VERSION_COLUMNS if options.name else MODEL_COLUMNS
    shown = len(data["items"])
    more = f"<p>{shown} of {data['total']}</p>" if data["total"] > shown else ""
    return Html(table_html(columns, data["items"], "jp-mlops-models") + more)


def show(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    registry = context.mlops.registry
    ref = parse_ref(options.ref)
    if ref.version is None and ref.alias is None:
        return registry.get_model(ref.name)
    return registry.resolve(ref)


def show_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if "version_count" in data:  # a model, not a version
        parts = [
            f"{data['name']}: {data['version_count']} version(s), latest v{data['latest_version']}"
        ]
        if data["description"]:
            parts.append(f"  {data['description']}")
        parts += [f"  @{alias} → v{version}" for alias, version in data["aliases"].items()]
        if data["gate"]:
            parts.append(f"  gate: {json.dumps(data['gate'])}")
        return "\n".join(parts)
    signature = data.get("signature") or {}
    aliases = f" (@{', @'.join(data['aliases'])})" if data["aliases"] else ""
    archived = " [archived]" if data["archived"] else ""
    pairs = [
        ("version", f"{data['name']} v{data['version']}{aliases}{archived}"),
        ("class", f"{data['model_class']} ({data['flavour']})"),
        ("artifact", f"{data['serialization']} sha256:{data['artifact_sha256']}"),
        ("metrics", metrics_text(data["metrics"], limit=20)),
        ("params", ", ".join(f"{k}={v}" for k, v in data["params"].items())),
        ("inputs", ", ".join(f"{i['name']}:{i['kind']}" for i in signature.get("inputs", []))),
        ("output", json.dumps(signature.get("output", {}))),
        ("run", data["run_id"] or ""),
        ("created", f"{data['created_at'][:19]} by {data['created_by']}"),
    ]
    return pairs_text(pairs, width=9)


def format_lineage(chain: dict[str, Any]) -> list[str]:
    """The lineage as aligned text lines."""
    model = chain["model"]
    aliases = f" (@{', @'.join(model['aliases'])})" if model["aliases"] else ""
    result = [f"{model['name']} v{model['version']}{aliases}  {model['model_class']}"]

    def row(label: str, text: str) -> None:
        result.append(f"  {label:<12} {text}")

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
    return result


def lineage(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.lineage(options.ref)


def lineage_text(chain: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return "\n".join(format_lineage(chain))


# -- aliases --------------------------------------------------------------------------------


def alias_change_text(result: dict[str, Any], verb: str) -> str:
    before = result.get("previous_version")
    origin = f"v{before}" if before is not None else "(unset)"
    return f"{result['name']}@{result['alias']}: {origin} → v{result['version']} ({verb})"


def promote(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.set_alias(
        options.name,
        options.alias,
        options.version,
        user=context.user,
        reason=options.reason,
        force=options.force,
    )


def promote_text(result: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if "approval" in result:
        approval = result["approval"]
        gate = approval["gate"] or {}
        verdict = "gate passed" if gate.get("passed", True) else "gate FAILED"
        return (
            f"{approval['id']}\n{options.name}@{options.alias} is protected: approval request "
            f"{approval['id']} for v{options.version} is pending ({verdict}); an approver runs "
            f"{context.spell('approvals approve', approval['id'])}"
        )
    if not result["changed"]:
        return f"{options.name}@{options.alias} already points at v{options.version}"
    return alias_change_text(result, "forced past the gate" if result["forced"] else "promoted")


def rollback(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.rollback(
        options.name, options.alias, user=context.user, reason=options.reason
    )


def unset_alias(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.delete_alias(
        options.name, options.alias, user=context.user, reason=options.reason
    )


# -- registering ----------------------------------------------------------------------------


def register_run_artifact(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.register_run_artifact(
        options.name,
        options.run_id,
        options.artifact,
        sample_artifact=options.sample,
        target=options.target,
        metrics=parse_metrics(options.metric),
        params=parse_pairs(options.param, "--param"),
        tags=parse_pairs(options.tag, "--tag"),
        description=options.description,
        user=context.user,
        trust=options.trust,
    )


def register_run_text(version: dict[str, Any], options: argparse.Namespace, context: Context):
    return (
        f"Registered {version['name']} v{version['version']} from run {options.run_id} "
        f"({version['model_class']}, sha256 {version['artifact_sha256'][:12]}…)"
    )


def register_variable(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    """The model in a notebook variable, with X_train/y_train (or --X/--y) as its sample."""
    model = context.variable(options.variable)

    def sample(requested: str | None, default: str) -> Any:
        if requested is not None:
            return context.variable(requested)
        return context.namespace.get(default)

    from jupyterlab_mlops import current_run_id  # the package's public API: this kernel's run

    metrics = parse_metrics(options.metric)
    return context.mlops.registry.register(
        model,
        options.name,
        X_sample=sample(options.x_var, "X_train"),
        y_sample=sample(options.y_var, "y_train"),
        metrics=metrics,
        params=parse_pairs(options.param, "--param"),
        tags=parse_pairs(options.tag, "--tag"),
        description=options.description,
        run_id=current_run_id(),
        user=context.user,
        trust_pickle=options.trust_pickle,
    )


def register_variable_text(version: dict[str, Any], options: argparse.Namespace, context):
    inputs = len((version.get("signature") or {}).get("inputs", []))
    return (
        f"Registered {version['name']} v{version['version']} ({version['model_class']}, "
        f"{inputs} input column(s), sha256 {version['artifact_sha256'][:12]}…"
        + (f", run {version['run_id']})" if version["run_id"] else ")")
    )


# -- archive, audit, gate -------------------------------------------------------------------


def archive(context: Context, options: argparse.Namespace) -> Any:
    registry = context.mlops.registry
    method = registry.archive if options.action == "archive" else registry.unarchive
    return method(options.name, options.version, user=context.user, reason=options.reason)


def audit(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    return context.mlops.registry.audit(
        options.name, alias=options.alias, offset=offset, limit=limit
    )


def gate(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    registry = context.mlops.registry
    if options.gate is None:
        return registry.get_gate(options.name)
    return registry.set_gate(
        options.name, parse_json(options.gate, "--set"), user=context.user, reason=options.reason
    )


REASON = arg("--reason", default="", help="Why (recorded in the audit log).")
KEY_VALUE = {"action": "append", "default": [], "metavar": "KEY=VALUE"}
LINEAGE = Command(
    "lineage",
    "Print the lineage of a model version.",
    lineage,
    (arg("ref", help="churn@production, churn/3 or churn (latest)"),),
    text=lineage_text,
    magic="lineage",
    magic_help="Show run, notebook, data and environment of a version.",
)

COMMANDS = [
    Command(
        "models list",
        "List registered models (or the versions of one).",
        list_models,
        (
            arg("name", nargs="?", help="List this model's versions instead."),
            arg("-q", "--query", help="Substring of the model name or description."),
            arg("--tag", help="KEY or KEY=VALUE on the model's or a version's tags."),
            arg("--alias", help="Only models that have this alias."),
            arg("--offset", type=int, default=0),
            arg("--limit", type=int, default=PAGE_SIZE),
        ),
        text=list_text,
        notebook=list_html,
        magic="models",
        magic_help="List registered models, or the versions of NAME.",
    ),
    Command(
        "models show",
        "Show a model (NAME) or a version (NAME/3, NAME@alias).",
        show,
        (arg("ref"),),
        text=show_text,
    ),
    Command(
        "models promote",
        "Point an alias at a version, through the model's quality gate.",
        promote,
        (
            arg("name"),
            arg("version", type=int),
            arg("alias", help="e.g. staging, production"),
            REASON,
            arg("--force", action="store_true", help="Override a failing gate (needs --reason)."),
        ),
        text=promote_text,
        exit_code=lambda result, options: EXIT_PENDING if "approval" in result else EXIT_OK,
        magic="promote",
        magic_help="Point ALIAS (staging, production, …) at VERSION through the quality gate.",
        magic_returns=True,
    ),
    Command(
        "models rollback",
        "Move an alias back to its previous version.",
        rollback,
        (arg("name"), arg("alias"), REASON),
        text=lambda result, options, context: alias_change_text(result, "rolled back"),
        magic="rollback",
        magic_help="Move ALIAS back one version.",
        magic_returns=True,
    ),
    Command(
        "models unset-alias",
        "Remove an alias from a model.",
        unset_alias,
        (arg("name"), arg("alias"), REASON),
        text=lambda result, options, context: (
            f"{options.name}@{options.alias} removed (was v{result['previous_version']})"
        ),
    ),
    dataclasses.replace(
        LINEAGE, name="models lineage", help="Print the lineage of a version.", magic=None
    ),
    Command(
        "models register",
        "Register a model file produced by a run.",
        register_run_artifact,
        (
            arg("name"),
            arg("--run", required=True, dest="run_id", help="The run that produced it."),
            arg("--artifact", required=True, help="Name or sha256 of the run's model file."),
            arg("--sample", help="A CSV/Parquet artifact of the run: signature and profile."),
            arg("--target", help="The label column of --sample."),
            arg("--metric", **KEY_VALUE),
            arg("--param", **KEY_VALUE),
            arg("--tag", **KEY_VALUE),
            arg("--description", default=""),
            arg("--trust", action="store_true", help="Accept a pickle/joblib file."),
        ),
        text=register_run_text,
    ),
    Command(
        "register",
        "Register the model in VARIABLE as the next version of NAME (signature and profile from "
        "X_train/y_train when they exist).",
        register_variable,
        (
            arg("name"),
            arg("variable"),
            arg("--X", dest="x_var", default=None, help="Training features (X_train)."),
            arg("--y", dest="y_var", default=None, help="Training labels (y_train)."),
            arg("--metric", **KEY_VALUE),
            arg("--param", **KEY_VALUE),
            arg("--tag", **KEY_VALUE),
            arg("--description", default=""),
            arg("--trust-pickle", action="store_true"),
        ),
        text=register_variable_text,
        cli=False,
        magic="register",
        magic_returns=True,
    ),
    *(
        Command(
            f"models {action}",
            f"{action.capitalize()} a version.",
            archive,
            (arg("name"), arg("version", type=int), REASON),
            text=lambda result, options, context: (
                f"{options.name} v{options.version} {options.action}d"
            ),
            defaults={"action": action},
        )
        for action in ("archive", "unarchive")
    ),
    Command(
        "models audit",
        "The audit log of a model (newest first).",
        audit,
        (
            arg("name"),
            arg("--alias"),
            arg("--offset", type=int, default=0),
            arg("--limit", type=int, default=PAGE_SIZE),
        ),
        text=lambda data, options, context: table_text(AUDIT_COLUMNS, data["items"]),
        notebook=lambda data, options, context: table_html(
            AUDIT_COLUMNS, data["items"], "jp-mlops-audit"
        ),
    ),
    Command(
        "models gate",
        "Show or set a model's quality gate.",
        gate,
        (
            arg("name"),
            arg(
                "--set",
                dest="gate",
                metavar="JSON",
                help='e.g. \'{"thresholds": {"auc": {">=": 0.8}}, '
                '"compare": {"metric": "auc", "mode": "max"}}\'; "{}" removes the gate',
            ),
            REASON,
        ),
        text=as_json,
        json=False,
    ),
    LINEAGE,
]
