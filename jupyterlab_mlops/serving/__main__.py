"""``python -m jupyterlab_mlops.serving``: the serving process that deployers start.

    python -m jupyterlab_mlops.serving (--bundle DIR | --models-file JSON) --host 127.0.0.1 \\
        --port P --prediction-log PATH [--challenger-bundle DIR --canary-percent N | --shadow] \\
        [--max-latency-ms N --max-batch-rows N] [--no-batching] [--workers N] \\
        [--extra-columns ignore|reject] [--unknown-categories accept|reject|JSON]
        [--max-string-length N] [--security-file PATH] [--access-log] [--trust]

``--models-file``: several hosted models, ``{"models": [{"bundle", "challenger_bundle",
"canary_percent", "shadow", "batching", "prediction_log", "ref"}, ...], "max_loaded_models":
N}`` (the deployer writes it), each answering ``/models/{name}/…``.

Exit status 2 with a one-line message when the bundle cannot be served (missing, corrupt,
untrusted). The admin reload route is enabled by the ``MLOPS_SERVING_ADMIN_TOKEN`` variable.
``--security-file``: the Host/Origin/API-key policy the deployer writes (see ``security.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

from .batching import DEFAULT_MAX_BATCH_ROWS, DEFAULT_MAX_LATENCY_MS
from .validation import CATEGORY_POLICIES, DEFAULT_MAX_STRING_LENGTH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jupyterlab_mlops.serving",
        description="Serve one model bundle over HTTP (FastAPI + uvicorn).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", help="serving bundle directory")
    source.add_argument(
        "--models-file", help="JSON list of the hosted models (several models in one process)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--prediction-log",
        required=True,
        help="SQLite file every prediction is logged to (created if missing)",
    )
    parser.add_argument("--challenger-bundle", help="bundle of a challenger version")
    routing = parser.add_mutually_exclusive_group()
    routing.add_argument(
        "--canary-percent",
        type=float,
        default=0.0,
        help="percentage of requests answered by the challenger",
    )
    routing.add_argument(
        "--shadow",
        action="store_true",
        help="mirror every request to the challenger; answer from the champion",
    )
    parser.add_argument(
        "--max-latency-ms",
        type=float,
        default=DEFAULT_MAX_LATENCY_MS,
        help="longest a request waits for its micro-batch to fill",
    )
    parser.add_argument(
        "--max-batch-rows",
        type=int,
        default=DEFAULT_MAX_BATCH_ROWS,
        help="rows per model call at most",
    )
    parser.add_argument("--no-batching", action="store_true", help="one model call per request")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--extra-columns",
        choices=("ignore", "reject"),
        default="ignore",
        help="what to do with input columns the signature does not know",
    )
    parser.add_argument(
        "--unknown-categories",
        default="accept",
        help='accept | reject, or a JSON object {"column": "reject", ...} (default accept)',
    )
    parser.add_argument(
        "--max-string-length",
        type=int,
        default=DEFAULT_MAX_STRING_LENGTH,
        help="longest string value accepted in a request (characters)",
    )
    parser.add_argument(
        "--security-file",
        help="JSON policy: allowed_hosts, allowed_origins, require_api_key, api_key_sha256",
    )
    parser.add_argument(
        "--log-flush-interval",
        type=float,
        default=0.2,
        help="seconds between prediction-log writes (also written on stop)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    parser.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="allow a pickled model (runs code from the file: trusted only)",
    )
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 <= args.canary_percent <= 100:
        parser.error("--canary-percent must be between 0 and 100")
    if (args.canary_percent or args.shadow) and not args.challenger_bundle:
        parser.error("--canary-percent and --shadow need --challenger-bundle")
    if args.models_file and args.challenger_bundle:
        parser.error("--challenger-bundle goes with --bundle (with --models-file: per model)")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.max_batch_rows < 1:
        parser.error("--max-batch-rows must be at least 1")
    if args.max_latency_ms < 0:
        parser.error("--max-latency-ms must be >= 0")
    if args.log_flush_interval <= 0:
        parser.error("--log-flush-interval must be > 0")
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")
    if args.max_string_length < 1:
        parser.error("--max-string-length must be at least 1")
    args.unknown_categories = _category_policy(parser, args.unknown_categories)


def _category_policy(parser: argparse.ArgumentParser, text: str) -> str | dict[str, str]:
    if text in CATEGORY_POLICIES:
        return text
    try:
        policy = json.loads(text)
    except ValueError:
        policy = None
    if not isinstance(policy, dict) or not all(v in CATEGORY_POLICIES for v in policy.values()):
        parser.error('--unknown-categories must be accept, reject or {"column": "accept|reject"}')
    return policy


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)

    from ..errors import MLOpsError

    settings = {
        "prediction_log": os.path.abspath(args.prediction_log),
        "log_flush_interval": args.log_flush_interval,
        "challenger_bundle": os.path.abspath(args.challenger_bundle)
        if args.challenger_bundle
        else None,
        "canary_percent": args.canary_percent,
        "shadow": args.shadow,
        "max_latency_ms": args.max_latency_ms,
        "max_batch_rows": args.max_batch_rows,
        "batching": not args.no_batching,
        "access_log": args.access_log,
        "extra_columns": args.extra_columns,
        "unknown_categories": args.unknown_categories,
        "max_string_length": args.max_string_length,
        "security_file": os.path.abspath(args.security_file) if args.security_file else None,
        "bind_host": args.host,
        "trust": args.trust,
        "workers": args.workers,
    }
    common = {
        "host": args.host,
        "port": args.port,
        "access_log": args.access_log,
        "log_level": args.log_level,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }
    if args.models_file:
        try:
            hosting = _read_models_file(args.models_file)
        except (OSError, ValueError, MLOpsError) as err:
            message = err.message if isinstance(err, MLOpsError) else str(err)
            print(f"error: --models-file: {message}", file=sys.stderr)
            return 2
        settings.update(hosting)
        bundle = None
    else:
        bundle = os.path.abspath(args.bundle)
    if args.workers == 1:
        loading = None
        if bundle is not None:
            from .model import ServedModel

            try:  # verified now; deserialised in a thread while the web stack imports and starts
                loading = ServedModel.start_loading(
                    [b for b in (bundle, settings["challenger_bundle"]) if b],
                    trust=args.trust,
                    extra_columns=args.extra_columns,
                    unknown_categories=args.unknown_categories,
                    max_string_length=args.max_string_length,
                )
            except MLOpsError as err:
                print(f"error: {err.message}", file=sys.stderr)
                return 2
        import uvicorn

        from .app import create_app

        try:  # several models: each bundle is loaded by the app, the first ones at start
            app = create_app(bundle, loading=loading, **settings)
        except MLOpsError as err:
            print(f"error: {err.message}", file=sys.stderr)
            return 2
        except (OSError, ValueError) as err:  # the security policy file (or the models file's)
            where = "--security-file: " if bundle is not None else ""
            print(f"error: {where}{err}", file=sys.stderr)
            return 2
        uvicorn.run(app, **common)
        return 0

    # several workers: each one builds its own app (and prediction-log connection) from the env
    import uvicorn

    from .bundle import read_metadata

    try:
        if bundle is not None:
            read_metadata(bundle)
        if settings["challenger_bundle"]:
            read_metadata(settings["challenger_bundle"])
    except MLOpsError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    state_dir = tempfile.mkdtemp(prefix="mlops-serving-")
    metrics_dir = os.path.join(state_dir, "prometheus")
    os.makedirs(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["MLOPS_SERVING_STATE_DIR"] = state_dir
    os.environ["MLOPS_SERVING_CONFIG"] = json.dumps(
        {"bundle": bundle, **settings, "state_dir": state_dir}
    )
    try:
        uvicorn.run(
            "jupyterlab_mlops.serving.app:create_app_from_env",
            factory=True,
            workers=args.workers,
            **common,
        )
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


def _read_models_file(path: str) -> dict:
    """The ``models`` and ``max_loaded_models`` settings from ``--models-file``; every bundle
    is checked to exist (metadata read) before the server starts."""
    from .bundle import read_metadata

    with open(path, encoding="utf-8") as handle:
        hosting = json.load(handle)
    models = hosting.get("models") if isinstance(hosting, dict) else None
    if not isinstance(models, list) or not models:
        raise ValueError('expected {"models": [{"bundle": DIR, ...}, ...]}')
    for index, spec in enumerate(models):
        if not isinstance(spec, dict) or not spec.get("bundle"):
            raise ValueError(f"models[{index}] needs a bundle")
        for key in ("bundle", "challenger_bundle", "prediction_log"):
            if spec.get(key):
                spec[key] = os.path.abspath(spec[key])
        read_metadata(spec["bundle"])
        if spec.get("challenger_bundle"):
            read_metadata(spec["challenger_bundle"])
    limit = hosting.get("max_loaded_models")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError("max_loaded_models must be a positive integer")
    return {"models": models, "max_loaded_models": limit}


if __name__ == "__main__":
    sys.exit(main())
