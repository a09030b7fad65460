"""``%mlops deploy``, ``%mlops predict`` and ``%mlops deployments``."""

from __future__ import annotations

import argparse
import html
import json
from typing import Any

from IPython.display import HTML, display

from ..errors import InvalidInput, NotFound, Unavailable
from . import MagicContext, subcommand

TARGETS = ("local", "docker", "kubernetes")


def _parser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"%mlops {prog}", add_help=True, exit_on_error=False)


def _status_widget():
    """A one-line live status in the notebook (ipywidgets when available, else prints)."""
    try:
        import ipywidgets as widgets

        label = widgets.HTML(value="")
        display(label)

        def update(line: str) -> None:
            label.value = f"<code>{html.escape(line[-200:])}</code>"

        return update
    except Exception:  # noqa: BLE001 - no widget frontend: plain text progress
        return lambda line: print(line, flush=True)


def _card(deployment: dict[str, Any]) -> str:
    url = deployment.get("url") or ""
    rows = [
        ("deployment", f"{deployment['id']} ({deployment['name']})"),
        ("model", f"{deployment['model_ref']} → v{deployment['version']}"),
        ("target", deployment["target"]),
        ("status", deployment["status"]),
        ("url", f"<a href='{html.escape(url)}/docs' target='_blank'>{html.escape(url)}</a>"),
    ]
    if deployment.get("image"):
        rows.append(("image", html.escape(deployment["image"])))
    if deployment.get("status_reason"):
        rows.append(("note", html.escape(deployment["status_reason"])))
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='jp-mlops-deployment'>{body}</table>"


@subcommand(
    "deploy",
    "deploy MODEL [--target local|docker|kubernetes] [--name NAME]",
    "Deploy a registered model (churn@production follows the alias); shows its URL.",
)
def deploy(context: MagicContext, args: list[str]) -> dict[str, Any] | None:
    parser = _parser("deploy")
    parser.add_argument("model")
    parser.add_argument("--target", choices=TARGETS, default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--config", default=None, help="JSON serving options")
    try:
        options = parser.parse_args(args)
    except argparse.ArgumentError as err:
        raise InvalidInput(str(err)) from None
    config = None
    if options.config:
        try:
            config = json.loads(options.config)
        except json.JSONDecodeError as err:
            raise InvalidInput(f"--config is not valid JSON: {err}") from None
    deployment = context.mlops.deployments.create(
        options.model,
        options.target,
        name=options.name,
        config=config,
        user=context.mlops.current_user(),
        progress=_status_widget(),
    )
    display(HTML(_card(deployment)))
    return deployment


def find_deployment(mlops, ref: str) -> dict[str, Any]:
    """The running deployment for a model reference, an id, or a deployment name."""
    page = mlops.deployments.list(status="running", limit=500, stats=False)
    for key in ("id", "model_ref", "name"):
        for item in page["items"]:
            if item[key] == ref:
                return item
    from ..refs import parse_ref

    try:
        version = mlops.registry.resolve(str(parse_ref(ref)))
    except (InvalidInput, NotFound):
        version = None
    if version is not None:
        for item in page["items"]:
            if item["model"] == version["name"] and item["version"] == version["version"]:
                return item
    raise NotFound(f"no running deployment of {ref!r}: deploy it with %mlops deploy {ref}")


def predict_frame(url: str, frame: Any) -> Any:
    """POST a DataFrame to ``{url}/predict``; a DataFrame of predictions (and probabilities)."""
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
            timeout=60.0,
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
    result.attrs.update(model=body.get("model"), version=body.get("version"))
    return result


@subcommand(
    "predict",
    "predict MODEL DATAFRAME_VARIABLE",
    "Call the deployed endpoint of MODEL with a DataFrame from the notebook; shows predictions.",
)
def predict(context: MagicContext, args: list[str]) -> Any:
    if len(args) != 2:
        raise InvalidInput("usage: %mlops predict MODEL DATAFRAME_VARIABLE")
    ref, variable = args
    if variable not in context.namespace:
        raise InvalidInput(f"no variable {variable!r} in the notebook")
    deployment = find_deployment(context.mlops, ref)
    result = predict_frame(deployment["url"], context.namespace[variable])
    print(f"{deployment['model']} v{result.attrs.get('version')} at {deployment['url']}")
    return result


@subcommand("deployments", "deployments", "List deployments with status, URL and traffic stats.")
def deployments(context: MagicContext, args: list[str]) -> None:
    page = context.mlops.deployments.list(limit=100)
    if not page["items"]:
        print("no deployments yet: %mlops deploy MODEL")
        return None
    headers = ["id", "name", "model", "version", "target", "status", "url", "requests", "p50 ms"]
    rows = []
    for d in page["items"]:
        stats = d.get("stats") or {}
        requests = stats.get("requests")
        cells = [
            d["id"],
            d["name"],
            d["model_ref"],
            d["version"],
            d["target"],
            d["status"],
            d["url"] or "",
            stats.get("predictions") if requests is None else requests,
            "" if stats.get("p50_ms") is None else f"{stats['p50_ms']:.1f}",
        ]
        rows.append("".join(f"<td>{html.escape(str(c))}</td>" for c in cells))
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    display(HTML(f"<table class='jp-mlops-deployments'><tr>{head}</tr>{body}</table>"))
    return None
