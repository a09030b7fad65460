"""``jupyter mlops scheduler``: every periodic job against the configured store, without a
Jupyter server — so scheduled training goes on when nobody's lab is running.

It builds the ``MLOps`` the way every CLI command does (config files, then ``MLOPS_*``), calls
``MLOps.start()`` with the scheduler loop on whatever ``c.MLOps.run_scheduler`` says (servers of
the same store usually turn it off and leave the jobs to this process), and stays in the
foreground, logging to stdout — one line whenever a schedule fires — until SIGTERM or SIGINT,
when it stops the jobs (``MLOps.stop()``) and exits with status 0. The jobs are those the server
runs: the run queue, schedules, pipelines, drift monitors, the retrain and deploy workflows,
alias following. Several of these processes (and servers) may share one store: every job
claims its work in the database, so a fire time still starts one run.

``--once`` runs every enabled job once, in the order ``start()`` registered them, and exits (1
if a job failed) — for cron or CI. Runs it starts keep going in their own worker processes.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from .context import Context
from .spec import EXIT_FAILED, EXIT_OK, Command, arg

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def configure_logging(level: str) -> logging.Logger:
    """Our loggers at ``level`` on stdout, everything else at WARNING; the logger the
    ``MLOps`` services write to."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    ours = logging.getLogger("jupyterlab_mlops")
    ours.setLevel(level)
    return ours


def run_once(mlops: Any) -> dict[str, Any]:
    mlops.run_scheduler = False
    mlops.start()
    mlops.runs.long_lived = False  # no warm standby worker for a process about to exit
    try:
        jobs = [job for job in mlops.scheduler.jobs.values() if job.interval > 0]
        for job in jobs:
            mlops.scheduler.run_once(job.name)
        results = [{"job": job.name, "ok": job.failures == 0} for job in jobs]
    finally:
        mlops.stop()
    failed = [r["job"] for r in results if not r["ok"]]
    log.info("ran %d jobs once%s", len(results), f"; failed: {', '.join(failed)}" if failed else "")
    return {"once": True, "jobs": results}


def run_until_stopped(mlops: Any) -> dict[str, Any]:
    stop = threading.Event()
    received: list[str] = []

    def on_signal(number: int, _frame: Any) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS}
    try:
        mlops.run_scheduler = True
        mlops.start()
        jobs = [name for name, job in mlops.scheduler.jobs.items() if job.interval > 0]
        log.info(
            "scheduler started (pid %s) on %s with jobs: %s",
            os.getpid(),
            _store(mlops),
            ", ".join(jobs),
        )
        while not stop.wait(1.0):
            pass
        log.info("%s received: stopping", received[0])
    finally:
        mlops.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    log.info("scheduler stopped")
    return {"once": False, "stopped_by": received[0] if received else None}


def _store(mlops: Any) -> str:
    """The store's URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(mlops.resolved_store_url).render_as_string(hide_password=True)


def scheduler(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    logger = configure_logging(options.log_level)
    mlops = context.mlops
    mlops.log = logger  # the services' own messages (recovery, alias following) go here too
    return run_once(mlops) if options.once else run_until_stopped(mlops)


def exit_code(result: dict[str, Any], options: argparse.Namespace) -> int:
    ok = all(job["ok"] for job in result.get("jobs", []))
    return EXIT_OK if ok else EXIT_FAILED


COMMANDS = [
    Command(
        "scheduler",
        "Run the periodic jobs against the store without a Jupyter server (in the foreground).",
        scheduler,
        (
            arg("--once", action="store_true", help="Run every job once and exit (cron, CI)."),
            arg(
                "--log-level",
                choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                default="INFO",
                help="Level of the log lines on stdout (default INFO).",
            ),
        ),
        description="Run the periodic jobs (run queue, schedules, pipelines, drift monitors, "
        "retrain and deploy workflows, alias following) against the configured store without a "
        "Jupyter server, whatever c.MLOps.run_scheduler says; log to stdout; stop cleanly on "
        "SIGTERM or Ctrl-C. Several may share a store: each fire time still starts one run.",
        text=lambda result, options, context: "",
        json=False,
        exit_code=exit_code,
    ),
]
