"""Parameterised, reproducible headless notebook runs (papermill).

``service.RunService`` is the entry point (``mlops.runs``); ``worker`` executes one run in its
own process; ``executors`` decide where that process runs (locally, or on a Dask cluster).
"""

TERMINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")
ACTIVE_STATES = ("queued", "running")
ALL_STATES = (*ACTIVE_STATES, *TERMINAL_STATES)
