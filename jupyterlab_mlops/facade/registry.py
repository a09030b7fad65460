"""In-notebook API of the registry: ``mlops.register_model(...)`` and ``mlops.load_model(ref)``.

Code in a notebook (interactive, or executed headlessly as a run) talks to the same store as the
server: the server exports ``MLOPS_*`` to its kernels and the run worker sets ``MLOPS_RUN_ID``, so
a model registered inside a run is linked to that run (and through it to its provenance).
"""

from __future__ import annotations

from typing import Any

from . import shared_mlops
from .tracking import current_run_id


def register_model(
    model: Any,
    name: str,
    *,
    X_sample: Any = None,
    y_sample: Any = None,
    metrics: dict | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    description: str = "",
    run_id: str | None = None,
    trust_pickle: bool = False,
) -> dict[str, Any]:
    """Register a fitted model as the next version of ``name`` and return the version dict.

    ``X_sample`` (the training frame or array) gives the input signature and the reference
    profile drift monitoring compares against; ``y_sample`` the output type and classes. The
    version is linked to the current run (inside ``jupyter mlops run``/the Runs panel).
    """
    mlops = shared_mlops()
    version = mlops.registry.register(
        model,
        name,
        X_sample=X_sample,
        y_sample=y_sample,
        metrics=metrics,
        params=params,
        tags=tags,
        description=description,
        run_id=run_id if run_id is not None else current_run_id(),
        user=mlops.current_user(),
        trust_pickle=trust_pickle,
    )
    print(
        f"Registered {version['name']} version {version['version']} "
        f"({version['model_class']}, sha256 {version['artifact_sha256'][:12]}…"
        + (f", run {version['run_id']})" if version["run_id"] else ")")
    )
    return version


def load_model(ref: str | tuple, *, trust: bool = False) -> Any:
    """Load ``churn@production``, ``churn/3`` or ``churn`` (latest), verified by sha256."""
    return shared_mlops().registry.load_model(ref, trust=trust)
