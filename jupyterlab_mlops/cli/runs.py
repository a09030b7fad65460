"""``jupyter mlops run NB.ipynb -p alpha 0.1``; ``jupyter mlops runs list|show|cancel|reproduce``.

``run`` waits with a progress bar over the notebook's cells and exits non-zero unless the run
succeeded (1: failed, timed out or cancelled; 2: refused input). ``--no-wait`` prints the run id
and leaves the run to the queue (it keeps running after the CLI exits).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from ..runs.parameters import parse_assignments
from .common import CommandContext, print_json, print_table

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="Run a notebook headlessly with parameters (papermill), reproducibly."
    )
    run.add_argument("notebook", help="Notebook path, relative to the root.")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="A parameter value, converted to the type of the notebook's default; repeatable.",
    )
    run.add_argument("--kernel", default=None, help="Kernel name (default: the notebook's).")
    run.add_argument("--timeout", type=float, default=None, help="Time limit in seconds.")
    run.add_argument("--tag", action="append", default=[], help="Tag the run; repeatable.")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="FILE",
        help="A data file the run reads (its sha256 is recorded); repeatable.",
    )
    run.add_argument("--no-wait", action="store_true", help="Submit and return at once.")
    run.add_argument("--json", action="store_true", help="Print the final run as JSON.")
    run.set_defaults(func=run_notebook)

    runs = subparsers.add_parser("runs", help="List, show, cancel and reproduce runs.")
    sub = runs.add_subparsers(title="runs commands", metavar="ACTION")
    ls = sub.add_parser("list", help="Recent runs, newest first.")
    ls.add_argument("--notebook", default=None, help="Only runs of notebooks matching this.")
    ls.add_argument("--status", default=None, help="Only runs in these states (comma-separated).")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_runs)
    show = sub.add_parser("show", help="One run: parameters, metrics, provenance, error.")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_run)
    cancel = sub.add_parser("cancel", help="Cancel a queued or running run (kills its kernel).")
    cancel.add_argument("run_id")
    cancel.set_defaults(func=cancel_run)
    reproduce = sub.add_parser(
        "reproduce", help="Re-run a run's stored notebook with its parameters and compare."
    )
    reproduce.add_argument("run_id")
    reproduce.add_argument("--no-wait", action="store_true")
    reproduce.add_argument("--json", action="store_true")
    reproduce.set_defaults(func=reproduce_run)
    runs.set_defaults(func=lambda context, args: runs.print_help() or 0)


def _wait_with_progress(context: CommandContext, run: dict[str, Any]) -> dict[str, Any]:
    service = context.mlops.runs
    bar = tqdm(total=None, unit="cell", desc=f"{run['id']} queued", file=sys.stderr, leave=True)

    def on_progress(current: dict[str, Any]) -> None:
        progress = current["progress"]
        if progress["cells_total"] and bar.total != progress["cells_total"]:
            bar.total = progress["cells_total"]
            bar.refresh()
        if progress["cells_done"] > bar.n:
            bar.update(progress["cells_done"] - bar.n)
        bar.set_description(f"{current['id']} {current['status']}", refresh=False)
        if progress["current_cell"] is not None and current["status"] == "running":
            bar.set_postfix_str(f"cell {progress['current_cell']}", refresh=False)
        bar.refresh()

    try:
        return service.wait(run["id"], on_progress=on_progress)
    except KeyboardInterrupt:
        print(
            f"\nstopped waiting; run {run['id']} continues "
            f"(cancel it with: jupyter mlops runs cancel {run['id']})",
            file=sys.stderr,
        )
        raise
    finally:
        bar.close()


def _summary(run: dict[str, Any]) -> None:
    print(
        f"run {run['id']}: {run['status']}"
        + (f" ({run['status_reason']})" if run.get("status_reason") else "")
    )
    if run.get("error"):
        error = run["error"]
        print(f"  error in cell {error['cell_index']}: {error['ename']}: {error['evalue']}")
    if run.get("metrics"):
        print("  metrics: " + ", ".join(f"{k}={v:g}" for k, v in run["metrics"].items()))
    if run.get("duration_seconds") is not None:
        print(f"  duration: {run['duration_seconds']:.1f}s")
    if run.get("output_notebook_path"):
        print(f"  output notebook: {run['output_notebook_path']}")


def run_notebook(context: CommandContext, args: argparse.Namespace) -> int:
    run = context.mlops.runs.submit(
        args.notebook,
        parse_assignments([tuple(p) for p in args.parameter]),
        kernel_name=args.kernel,
        timeout=args.timeout,
        tags=args.tag,
        input_files=args.input,
        user=context.user,
        trigger="cli",
        from_text=True,
    )
    if args.no_wait:
        print_json(run) if args.json else print(run["id"])
        return EXIT_OK
    run = _wait_with_progress(context, run)
    print_json(run) if args.json else _summary(run)
    return EXIT_OK if run["status"] == "succeeded" else EXIT_RUN_FAILED


def list_runs(context: CommandContext, args: argparse.Namespace) -> int:
    page = context.mlops.runs.list(
        max(0, args.offset),
        max(1, min(args.limit, 500)),
        notebook=args.notebook,
        status=args.status,
    )
    if args.json:
        print_json(page)
        return EXIT_OK
    rows = [
        (
            r["id"],
            r["status"],
            r["notebook_path"],
            ", ".join(f"{k}={v}" for k, v in r["parameters"].items()),
            ", ".join(f"{k}={v:.4g}" for k, v in r["metrics"].items()),
            "" if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f}s",
            (r["started_at"] or r["created_at"] or "")[:19].replace("T", " "),
        )
        for r in page["items"]
    ]
    print_table(rows, ["id", "status", "notebook", "parameters", "metrics", "duration", "started"])
    print(f"{len(rows)} of {page['total']} runs")
    return EXIT_OK


def show_run(context: CommandContext, args: argparse.Namespace) -> int:
    run = context.mlops.runs.get(args.run_id)
    if args.json:
        print_json(run)
        return EXIT_OK
    _summary(run)
    print(f"  notebook: {run['notebook_path']}  kernel: {run['kernel_name']}")
    print(f"  parameters: {run['parameters']}")
    prov = run.get("provenance") or {}
    if prov:
        git = prov.get("git") or {}
        print(f"  notebook sha256: {prov.get('notebook_sha256')}")
        python = prov.get("python", {}).get("version")
        print(f"  python {python} on {prov.get('platform', {}).get('hostname')}")
        if git:
            dirty = ", dirty" if git.get("dirty") else ""
            print(f"  git: {git.get('commit')} ({git.get('branch')}{dirty})")
        for path, sha in (prov.get("inputs") or {}).items():
            print(f"  input {path}: {sha}")
    if run.get("comparison"):
        _print_comparison(run["comparison"])
    return EXIT_OK


def cancel_run(context: CommandContext, args: argparse.Namespace) -> int:
    run = context.mlops.runs.cancel(args.run_id, user=context.user)
    print(f"run {run['id']}: {run['status']}")
    return EXIT_OK


def _print_comparison(comparison: dict[str, Any]) -> None:
    if "outputs" not in comparison:
        print(f"  comparison: {comparison.get('error', comparison)}")
        return
    outputs = comparison["outputs"]
    verdict = "match" if outputs["match"] else "differ"
    print(f"  outputs {verdict}: {outputs['matched']}/{outputs['total']} code cells identical")
    for cell in outputs["cells"]:
        if not cell["match"]:
            print(f"    code cell {cell['code_cell']} differs:")
            for line in (cell.get("diff") or "").splitlines()[:12]:
                print(f"      {line}")
    env = comparison["environment"]
    if env["same"]:
        print("  environment: unchanged")
    else:
        for kind in ("added", "removed", "changed"):
            if env["packages"][kind]:
                print(f"  packages {kind}: {', '.join(env['packages'][kind])}")
        for key, change in env["git"].items():
            print(f"  git {key}: {change['original']} → {change['reproduced']}")
        for kind in ("added", "removed", "changed"):
            if env["inputs"][kind]:
                print(f"  inputs {kind}: {', '.join(env['inputs'][kind])}")


def reproduce_run(context: CommandContext, args: argparse.Namespace) -> int:
    run = context.mlops.runs.reproduce(args.run_id, user=context.user)
    if args.no_wait:
        print(run["id"])
        return EXIT_OK
    run = _wait_with_progress(context, run)
    if args.json:
        print_json(run)
    else:
        _summary(run)
        if run.get("comparison"):
            _print_comparison(run["comparison"])
    comparison = run.get("comparison") or {}
    ok = run["status"] == "succeeded" and comparison.get("outputs_match")
    return EXIT_OK if ok else EXIT_RUN_FAILED
