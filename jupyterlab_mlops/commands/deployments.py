"""Serving: ``deploy``, ``build``, ``deployments list|get|stop|restart|delete|logs|sync``, and the
notebook's ``predict MODEL DATAFRAME``.

The deploy target, when none is given, is ``c.MLOps.default_deploy_target`` (read through
:class:`~jupyterlab_mlops.commands.defaults.Defaults`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound, Unavailable
from ..refs import parse_ref
from . import progress
from .arguments import parse_json
from .context import Context
from .defaults import (
    DEPLOY_TARGETS,
    LOG_TAIL_LINES,
    MIN_SYNC_INTERVAL_SECONDS,
    PAGE_SIZE,
    PREDICT_TIMEOUT_SECONDS,
    SYNC_INTERVAL_SECONDS,
    page,
)
from .render import (
    Column,
    Html,
    escape,
    lines,
    more_text,
    number,
    pairs_html,
    table_html,
    table_text,
)
from .spec import Command, Group, arg

GROUPS = [
    Group("deployments", "List and manage deployments."),
    Group("deployments keys", "API keys of a deployment (sha256 kept; a key is shown once)."),
]


def _requests(d: dict[str, Any]) -> Any:
    stats = d.get("stats") or {}
    return stats.get("predictions") if stats.get("requests") is None else stats["requests"]


def _stat(name: str, fmt: str = "{:.1f}"):
    return lambda d: number((d.get("stats") or {}).get(name), fmt)


def _url_html(d: dict[str, Any]) -> str:
    url = escape(d.get("url") or "")
    return f"<a href='{url}/docs' target='_blank'>{url}</a>" if url else ""


def _hosted(d: dict[str, Any], what: str) -> str:
    """The model(s) column: the reference, or each hosted model's (``churn@production, …``)."""
    if not d.get("models"):
        return str(d["model_ref"] if what == "ref" else d["version"])
    return ", ".join(str(m["model_ref"] if what == "ref" else m["version"]) for m in d["models"])


def _loaded(hosted: dict[str, Any]) -> str:
    return {True: "loaded", False: "unloaded", None: ""}[hosted.get("loaded")]


def hosted_lines(deployment: dict[str, Any]) -> list[str]:
    """One line per hosted model of a multi-model deployment (none for a single-model one)."""
    return [
        f"    {m['name']:<20} {m['model_ref']} -> v{m['version']}"
        + (f" (challenger v{m['challenger_version']})" if m.get("challenger_version") else "")
        + (f"  {_loaded(m)}" if m.get("loaded") is not None else "")
        for m in deployment.get("models") or []
    ]


DEPLOYMENT_COLUMNS = [
    Column("id", lambda d: d["id"]),
    Column("name", lambda d: d["name"]),
    Column("model", lambda d: _hosted(d, "ref")),
    Column("version", lambda d: _hosted(d, "version")),
    Column("target", lambda d: d["target"]),
    Column("status", lambda d: d["status"]),
    Column("url", lambda d: d["url"] or "", _url_html),
    Column("requests", _requests),
    Column("errors", _stat("error_rate", "{:.1%}")),
    Column("p50 ms", _stat("p50_ms")),
    Column("p99 ms", _stat("p99_ms")),
]


def summary_text(deployment: dict[str, Any]) -> str:
    parts = [f"deployment {deployment['id']} ({deployment['name']}): {deployment['status']}"]
    if deployment.get("models"):
        limit = (deployment.get("config") or {}).get("max_loaded_models")
        parts.append(
            f"  models:  {len(deployment['models'])} in one process"
            + (f" (at most {limit} loaded)" if limit else "")
            + ", at /models/{name}/predict"
        )
        parts += hosted_lines(deployment)
    else:
        parts.append(f"  model:   {deployment['model_ref']} -> v{deployment['version']}")
    parts.append(f"  target:  {deployment['target']}")
    for key in ("url", "image"):
        if deployment.get(key):
            parts.append(f"  {key + ':':<8} {deployment[key]}")
    if deployment.get("status_reason"):
        parts.append(f"  note:    {deployment['status_reason']}")
    return "\n".join(parts)


def card_html(deployment: dict[str, Any], options: Any = None, context: Any = None) -> Html:
    hosted = deployment.get("models") or []
    models = [
        f"{m['name']}: {m['model_ref']} → v{m['version']}"
        + (f" ({_loaded(m)})" if m.get("loaded") is not None else "")
        for m in hosted
    ]
    pairs: list[tuple[str, Any]] = [
        ("deployment", f"{deployment['id']} ({deployment['name']})"),
        (
            ("models", "; ".join(models))
            if hosted
            else ("model", f"{deployment['model_ref']} → v{deployment['version']}")
        ),
        ("target", deployment["target"]),
        ("status", deployment["status"]),
        ("url", Html(_url_html(deployment))),
    ]
    if deployment.get("image"):
        pairs.append(("image", deployment["image"]))
    if deployment.get("status_reason"):
        pairs.append(("note", deployment["status_reason"]))
    return pairs_html(pairs, "jp-mlops-deployment")


# -- deploy and build -----------------------------------------------------------------------


def deploy(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    config = parse_json(options.serving_config, "--serving-config")
    target = options.target or context.defaults.deploy_target
    what = options.model or "the models of --serving-config"
    with progress.status_line(f"deploying {what} ({target})") as on_progress:
        return context.mlops.deployments.create(
            options.model,
            target,
            name=options.name,
            config=config,
            user=context.user,
            progress=on_progress,
        )


def deploy_text(deployment: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    url = deployment.get("url")
    try_it = (
        f"  try:     curl -s {url}/metadata" if url and deployment["status"] == "running" else None
    )
    return lines(summary_text(deployment), try_it)


def build(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    from ..serving.deployers.docker import build_image, docker_client, write_context

    def log(line: str) -> None:
        context.say(f"  {line}")

    mlops = context.mlops
    version = mlops.registry.resolve(options.model)
    name, number_ = version["name"], version["version"]
    dest = (
        Path(options.context)
        if options.context
        else mlops.data_dir / "builds" / f"{name}-v{number_}"
    )
    context.say(f"writing the build context for {name} v{number_} to {dest}")
    summary = write_context(
        mlops,
        f"{name}/{number_}",
        dest,
        base_image=options.base_image,
        extra_ca_bundle=options.extra_ca_bundle,
        prefetch_wheels=options.prefetch_wheels,
        progress=log,
    )
    result = {"context": str(dest), "image": summary["image"], "built": False}
    if options.context_only:
        return result
    context.say(f"building {summary['image']} from {summary['base_image']}")
    built = build_image(docker_client(), dest, summary["image"], log)
    return {**result, **built, "built": True}


def build_text(result: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if not result["built"]:
        return f"context written: docker build -t {result['image']} {result['context']}"
    return (
        f"image {result['image']} ({result['size'] / 1e6:.0f} MB) built in {result['seconds']:.1f}s"
    )


# -- deployments ----------------------------------------------------------------------------


def list_deployments(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    return context.mlops.deployments.list(
        status=options.status, model=options.model, offset=offset, limit=limit
    )


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return lines(
        table_text(DEPLOYMENT_COLUMNS, data["items"]), more_text(data, "use --offset/--limit")
    )


def list_html(data: dict[str, Any], options: argparse.Namespace, context: Context) -> Any:
    if not data["items"]:
        return f"no deployments yet: {context.spell('deploy', 'MODEL')}"
    return table_html(DEPLOYMENT_COLUMNS, data["items"], "jp-mlops-deployments")


def _action(name: str):
    def call(context: Context, options: argparse.Namespace) -> dict[str, Any]:
        service = context.mlops.deployments
        if name == "get":
            return service.get(options.id)
        if name == "stop":
            return service.stop(options.id, user=context.user)
        if name == "delete":
            return service.delete(options.id, user=context.user)
        with progress.status_line(f"restarting {options.id}") as on_progress:
            return service.restart(options.id, user=context.user, progress=on_progress)

    return call


def logs(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.deployments.logs(options.id, tail=max(1, options.tail))


def sync(context: Context, options: argparse.Namespace) -> list[dict[str, Any]]:
    service, moved = context.mlops.deployments, []
    while True:
        for deployment in service.sync_aliases():
            context.say(f"{deployment['id']}: {deployment['status_reason']}")
            moved.append(deployment)
        if not options.follow:
            return moved
        time.sleep(max(MIN_SYNC_INTERVAL_SECONDS, options.interval))


# -- API keys -------------------------------------------------------------------------------

KEY_COLUMNS = [
    Column("id", lambda k: k["id"]),
    Column("name", lambda k: k["name"]),
    Column("prefix", lambda k: k["prefix"] + "…"),
    Column("created", lambda k: k["created_at"] or ""),
    Column("revoked", lambda k: k["revoked_at"] or ""),
]


def _keys(name: str):
    def call(context: Context, options: argparse.Namespace) -> Any:
        service = context.mlops.deployments
        if name == "list":
            return {"items": service.list_keys(options.id)}
        if name == "revoke":
            return service.revoke_key(options.id, options.key_id, user=context.user)
        if name == "rotate":
            return service.rotate_keys(options.id, name=options.name, user=context.user)
        return service.create_key(options.id, name=options.name, user=context.user)

    return call


def key_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    revoked = data.get("revoked")
    return lines(
        f"API key {data['id']} of deployment {data['deployment_id']} (shown once, keep it):",
        data["key"],
        f"revoked: {', '.join(revoked)}" if revoked else None,
        "use it as: Authorization: Bearer <key>",
    )


# -- predict (a notebook's DataFrame against an endpoint) -----------------------------------


def find_endpoint(context: Context, ref: str) -> str:
    """The prediction URL prefix for a model reference, a deployment id or name: the
    deployment's URL, or ``{url}/models/{name}`` for a model hosted with others."""
    from ..serving.records import served_models

    mlops = context.mlops
    running = mlops.deployments.find(status="running", limit=500)
    # (deployment, what it serves: itself, or one of its hosted models)
    served = [(d, h) for d in running for h in served_models(d)]
    for key in ("id", "model_ref", "name"):  # a reference names a hosted model; an id a process
        for item, hosted in served:
            if key == "model_ref" and hosted["model_ref"] == ref:
                return _endpoint(item, hosted)
            if key != "model_ref" and item[key] == ref:
                return _endpoint(item, None)
    try:
        version = mlops.registry.resolve(str(parse_ref(ref)))
    except (InvalidInput, NotFound):
        version = None
    if version is not None:
        for item, hosted in served:
            if (hosted["name"], hosted["version"]) == (version["name"], version["version"]):
                return _endpoint(item, hosted)
    raise NotFound(
        f"no running deployment of {ref!r}: deploy it with {context.spell('deploy', ref)}"
    )


def _endpoint(deployment: dict[str, Any], hosted: dict[str, Any] | None) -> str:
    if not deployment["models"]:
        return deployment["url"]
    if hosted is None:
        names = ", ".join(m["model_ref"] for m in deployment["models"])
        raise InvalidInput(
            f"deployment {deployment['name']} hosts several models: name one of {names}"
        )
    return f"{deployment['url']}/models/{hosted['name']}"


def predict_frame(url: str, frame: Any) -> Any:
    """POST a DataFrame to ``{url}/predict`` (``url`` may be a hosted model's
    ``…/models/{name}``); a DataFrame of predictions (and probabilities)."""
    import httpx
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    payload = '{"records": ' + frame.to_json(orient="records", date_format="iso") + "}"
    try:
        response = httpx.post(
            f"{url}/predict",
            content=payload,
            headers={"Content-Type": "application/json"},
            timeout=PREDICT_TIMEOUT_SECONDS,
            trust_env=False,
        )
    except httpx.HTTPError as err:
        raise Unavailable(f"{url} did not answer: {err}") from None
    body = response.json()
    if response.status_code >= 400:
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise InvalidInput(f"the endpoint refused the frame ({response.status_code}): {message}")
    result = pd.DataFrame({"prediction": body["predictions"]}, index=frame.index)
    for i, label in enumerate(body.get("classes") or []):
        result[f"p({label})"] = [row[i] for row in body["probabilities"]]
    result["prediction_id"] = body.get("prediction_ids")
    result.attrs.update(model=body.get("model"), version=body.get("version"), url=url)
    return result


def predict(context: Context, options: argparse.Namespace) -> Any:
    frame = context.variable(options.variable)
    return predict_frame(find_endpoint(context, options.model), frame)


def predict_text(result: Any, options: argparse.Namespace, context: Context) -> str:
    return (
        f"{result.attrs.get('model')} v{result.attrs.get('version')} at {result.attrs.get('url')}"
    )


ID = arg("id", help="The deployment's id.")

COMMANDS = [
    Command(
        "deploy",
        "Deploy a registered model (churn@production, churn/3).",
        deploy,
        (
            arg(
                "model",
                nargs="?",
                default=None,
                help="Model reference: name@alias, name/version or name (none when "
                '--serving-config has "models": several in one process).',
            ),
            arg(
                "--target",
                choices=DEPLOY_TARGETS,
                default=None,
                help="Where to serve it (default: c.MLOps.default_deploy_target).",
            ),
            arg("--name", default=None, help="Deployment name (default: the model's)."),
            arg(
                "--serving-config",
                "--config",
                dest="serving_config",
                default=None,
                metavar="JSON",
                help='Serving options, e.g. \'{"workers": 2, "canary": {"version": 4, '
                '"percent": 10}}\', or several models: \'{"models": ["churn@production", '
                '"fraud/3"], "max_loaded_models": 1}\'.',
            ),
        ),
        description="Serve a model version locally, in a container or as Kubernetes manifests. "
        "A deployment of name@alias follows the alias when it moves.",
        text=deploy_text,
        notebook=card_html,
        magic="deploy",
        magic_help="Deploy a registered model (churn@production follows the alias); shows its URL.",
        magic_returns=True,
    ),
    Command(
        "build",
        "Write a model's docker build context and build its image.",
        build,
        (
            arg("model", help="Model reference: name@alias, name/version or name."),
            arg("--context", default=None, help="Where to write the build context."),
            arg("--base-image", default=None, help="Overrides c.MLOps.docker_base_image."),
            arg("--extra-ca-bundle", default=None, help="CA bundle for pip in the build."),
            arg(
                "--prefetch-wheels",
                action="store_true",
                default=None,
                help="pip download the pinned wheels on the host; install them with --no-index.",
            ),
            arg("--context-only", action="store_true", help="Write the context, do not build."),
        ),
        text=build_text,
        json=False,
    ),
    Command(
        "deployments list",
        "List deployments with their traffic stats.",
        list_deployments,
        (
            arg("--status", default=None),
            arg("--model", default=None),
            arg("--limit", type=int, default=PAGE_SIZE),
            arg("--offset", type=int, default=0),
        ),
        text=list_text,
        notebook=list_html,
        magic="deployments",
        magic_help="List deployments with status, URL and traffic stats.",
    ),
    *(
        Command(
            f"deployments {name}",
            text_,
            _action(name),
            (ID,),
            text=(
                (lambda data, options, context: f"deleted deployment {options.id}")
                if name == "delete"
                else (lambda data, options, context: summary_text(data))
            ),
            notebook=None if name == "delete" else card_html,
        )
        for name, text_ in (
            ("get", "Show one deployment."),
            ("stop", "Stop a deployment."),
            ("restart", "Restart a deployment."),
            ("delete", "Stop a deployment and remove its record and files."),
        )
    ),
    Command(
        "deployments keys list",
        "List a deployment's API keys (prefixes only).",
        _keys("list"),
        (ID,),
        text=lambda data, options, context: (
            table_text(KEY_COLUMNS, data["items"])
            if data["items"]
            else f"deployment {options.id} has no API keys"
        ),
    ),
    *(
        Command(
            f"deployments keys {name}",
            help_,
            _keys(name),
            (ID, arg("--name", default="", help="What the key is for.")),
            text=key_text,
        )
        for name, help_ in (
            ("create", "Create an API key (printed once)."),
            ("rotate", "Create an API key and revoke every older one."),
        )
    ),
    Command(
        "deployments keys revoke",
        "Revoke an API key: the endpoint refuses it within a second.",
        _keys("revoke"),
        (ID, arg("key_id", help="The key's id (see keys list).")),
        text=lambda data, options, context: f"revoked key {data['id']} ({data['prefix']}…)",
    ),
    Command(
        "deployments logs",
        "Print the serving log.",
        logs,
        (ID, arg("--tail", type=int, default=LOG_TAIL_LINES)),
        text=lambda data, options, context: data["text"].rstrip("\n"),
    ),
    Command(
        "deployments sync",
        "Move alias deployments to the version their alias points at now.",
        sync,
        (
            arg(
                "--follow",
                action="store_true",
                help="Keep following (every --interval s) until Ctrl-C.",
            ),
            arg("--interval", type=float, default=SYNC_INTERVAL_SECONDS),
        ),
        text=lambda data, options, context: "",
        json=False,
    ),
    Command(
        "predict",
        "Call the deployed endpoint of MODEL with a DataFrame from the notebook; shows "
        "predictions.",
        predict,
        (
            arg("model", help="Model reference, deployment name or id."),
            arg("variable", metavar="DATAFRAME_VARIABLE"),
        ),
        text=predict_text,
        cli=False,
        magic="predict",
        magic_returns=True,
    ),
]
