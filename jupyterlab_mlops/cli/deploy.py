"""``jupyter mlops deploy``, ``jupyter mlops build`` and ``jupyter mlops deployments …``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import InvalidInput
from .common import CommandContext, print_json, print_table

TARGETS = ("local", "docker", "kubernetes")


def _progress(line: str) -> None:
    print(f"  {line}", flush=True)


def _config(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"--serving-config is not valid JSON: {err}") from None
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    deploy = subparsers.add_parser(
        "deploy",
        help="Deploy a registered model (churn@production, churn/3).",
        description="Serve a model version locally, in a container or as Kubernetes manifests. "
        "A deployment of name@alias follows the alias when it moves.",
    )
    deploy.add_argument("model", help="Model reference: name@alias, name/version or name.")
    deploy.add_argument("--target", choices=TARGETS, default=None)
    deploy.add_argument("--name", default=None, help="Deployment name (default: the model's).")
    deploy.add_argument(
        "--serving-config",
        dest="serving_config",
        default=None,
        metavar="JSON",
        help='Serving options, e.g. \'{"workers": 2, "canary": {"version": 4, "percent": 10}}\'.',
    )
    deploy.add_argument("--json", action="store_true", help="Print the record as JSON.")
    deploy.set_defaults(func=run_deploy)

    build = subparsers.add_parser(
        "build",
        help="Write a model's docker build context and build its image.",
    )
    build.add_argument("model", help="Model reference: name@alias, name/version or name.")
    build.add_argument("--context", default=None, help="Where to write the build context.")
    build.add_argument("--base-image", default=None, help="Overrides c.MLOps.docker_base_image.")
    build.add_argument("--extra-ca-bundle", default=None, help="CA bundle for pip in the build.")
    build.add_argument(
        "--prefetch-wheels",
        action="store_true",
        default=None,
        help="pip download the pinned wheels on the host; install them with --no-index.",
    )
    build.add_argument(
        "--context-only", action="store_true", help="Write the context, do not build."
    )
    build.set_defaults(func=run_build)

    deployments = subparsers.add_parser("deployments", help="List and manage deployments.")
    commands = deployments.add_subparsers(title="deployment commands", metavar="ACTION")
    listing = commands.add_parser("list", help="List deployments with their traffic stats.")
    listing.add_argument("--status", default=None)
    listing.add_argument("--model", default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    for action, text in (
        ("get", "Show one deployment."),
        ("stop", "Stop a deployment."),
        ("restart", "Restart a deployment."),
        ("delete", "Stop a deployment and remove its record and files."),
    ):
        sub = commands.add_parser(action, help=text)
        sub.add_argument("id")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=run_action, action=action)
    logs = commands.add_parser("logs", help="Print the serving log.")
    logs.add_argument("id")
    logs.add_argument("--tail", type=int, default=200)
    logs.set_defaults(func=run_logs)
    sync = commands.add_parser(
        "sync", help="Move alias deployments to the version their alias points at now."
    )
    sync.add_argument(
        "--follow", action="store_true", help="Keep following (every --interval s) until Ctrl-C."
    )
    sync.add_argument("--interval", type=float, default=2.0)
    sync.set_defaults(func=run_sync)
    deployments.set_defaults(func=lambda context, args: (deployments.print_help(), 0)[1])


def _summary(deployment: dict) -> None:
    print(f"deployment {deployment['id']} ({deployment['name']}): {deployment['status']}")
    print(f"  model:   {deployment['model_ref']} -> v{deployment['version']}")
    print(f"  target:  {deployment['target']}")
    if deployment.get("url"):
        print(f"  url:     {deployment['url']}")
    if deployment.get("image"):
        print(f"  image:   {deployment['image']}")
    if deployment.get("status_reason"):
        print(f"  note:    {deployment['status_reason']}")


def run_deploy(context: CommandContext, args: argparse.Namespace) -> int:
    deployment = context.mlops.deployments.create(
        args.model,
        args.target,
        name=args.name,
        config=_config(args.serving_config),
        user=context.user,
        progress=_progress if not args.json else (lambda line: None),
    )
    if args.json:
        print_json(deployment)
    else:
        _summary(deployment)
        if deployment.get("url") and deployment["status"] == "running":
            print(f"  try:     curl -s {deployment['url']}/metadata")
    return 0


def run_build(context: CommandContext, args: argparse.Namespace) -> int:
    from ..serving.deployers.docker import build_image, docker_client, write_context

    mlops = context.mlops
    version = mlops.registry.resolve(args.model)
    dest = (
        Path(args.context)
        if args.context
        else (mlops.data_dir / "builds" / f"{version['name']}-v{version['version']}")
    )
    print(f"writing the build context for {version['name']} v{version['version']} to {dest}")
    summary = write_context(
        mlops,
        f"{version['name']}/{version['version']}",
        dest,
        base_image=args.base_image,
        extra_ca_bundle=args.extra_ca_bundle,
        prefetch_wheels=args.prefetch_wheels,
        progress=_progress,
    )
    if args.context_only:
        print(f"context written: docker build -t {summary['image']} {dest}")
        return 0
    client = docker_client()
    print(f"building {summary['image']} from {summary['base_image']}")
    result = build_image(client, dest, summary["image"], _progress)
    print(
        f"image {result['image']} ({result['size'] / 1e6:.0f} MB) built in {result['seconds']:.1f}s"
    )
    return 0


def run_list(context: CommandContext, args: argparse.Namespace) -> int:
    page = context.mlops.deployments.list(
        status=args.status, model=args.model, offset=args.offset, limit=args.limit
    )
    if args.json:
        print_json(page)
        return 0

    def number(value, fmt="{:.1f}"):
        return "" if value is None else fmt.format(value)

    rows = [
        (
            d["id"],
            d["name"],
            d["model_ref"],
            d["version"],
            d["target"],
            d["status"],
            d["url"] or "",
            d["stats"]["requests"]
            if d["stats"]["requests"] is not None
            else d["stats"]["predictions"],
            number(d["stats"]["error_rate"], "{:.1%}"),
            number(d["stats"]["p50_ms"]),
            number(d["stats"]["p99_ms"]),
        )
        for d in page["items"]
    ]
    print_table(
        rows,
        [
            "id",
            "name",
            "model",
            "version",
            "target",
            "status",
            "url",
            "requests",
            "errors",
            "p50 ms",
            "p99 ms",
        ],
    )
    if page["total"] > len(page["items"]):
        print(f"({len(page['items'])} of {page['total']}; use --offset/--limit)")
    return 0


def run_action(context: CommandContext, args: argparse.Namespace) -> int:
    service = context.mlops.deployments
    if args.action == "get":
        result = service.get(args.id)
    elif args.action == "stop":
        result = service.stop(args.id, user=context.user)
    elif args.action == "restart":
        result = service.restart(args.id, user=context.user, progress=_progress)
    else:
        result = service.delete(args.id, user=context.user)
        print(f"deleted deployment {args.id}")
        return 0
    if args.json:
        print_json(result)
    else:
        _summary(result)
    return 0


def run_logs(context: CommandContext, args: argparse.Namespace) -> int:
    text = context.mlops.deployments.logs(args.id, tail=max(1, args.tail))["text"]
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    return 0


def run_sync(context: CommandContext, args: argparse.Namespace) -> int:
    service = context.mlops.deployments
    while True:
        for deployment in service.sync_aliases():
            print(f"{deployment['id']}: {deployment['status_reason']}", flush=True)
        if not args.follow:
            return 0
        time.sleep(max(0.2, args.interval))
