"""Parameterised, reproducible headless notebook runs (papermill) — the runs domain.

Owns the tables ``runs``, ``run_groups``, ``run_metrics``, ``run_params``, ``run_artifacts``.
``service.RunService`` is the entry point (``mlops.runs``), a facade over one module per concept:
``submission`` (validate, provenance, record), ``records`` (run dicts, final states), ``queue``
(claims across processes), ``sweeps``, ``interactive`` (tracking from code), ``supervision``
(timeouts, dead workers, recovery), ``announcements`` (``RUN_FINISHED``), ``settings``,
``schemas`` (the REST models), ``processes`` (worker processes on this host). ``worker`` executes
one run in its own process; ``executors`` decide where that process runs (locally, or on a Dask
cluster), given an ``ExecutorContext`` rather than the service.
"""

TERMINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")
ACTIVE_STATES = ("queued", "running")
ALL_STATES = (*ACTIVE_STATES, *TERMINAL_STATES)
