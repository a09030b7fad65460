"""``mlops.drift_report(reference, current, methods=None)`` for notebooks and scripts.

The one place in the Python API where a model ref is turned into a drift reference: the
registry of the process's shared :class:`~jupyterlab_mlops.app.MLOps` resolves
``"churn@production"`` to its version, whose profile (made at registration) is the reference and
whose ``drift_methods`` tag chooses the methods unless ``methods`` is given. Data, a stored
profile or a prepared ``Reference`` go to the pure core (``drift/report.py``) as they are, with
no store opened.
"""

from __future__ import annotations

from typing import Any

from ..drift.reference import resolve_reference
from ..drift.report import DriftReport, compute_report
from . import shared_mlops


def _resolve(ref: Any) -> dict[str, Any]:
    return shared_mlops().registry.resolve(ref)


def drift_report(reference: Any, current: Any, methods: Any = None, **kwargs: Any) -> DriftReport:
    """Drift of ``current`` against ``reference``.

    ``reference``: a DataFrame (or array), a stored profile dict, or a model ref such as
    ``"churn@production"`` (its registered profile). ``current``: a DataFrame (or array), or —
    read in bounded memory — a Parquet file or dataset (a path or fsspec URL; pass
    ``storage_options`` for S3), a CSV file, or an iterator of DataFrames
    (``memory_budget`` bytes at a time, see :mod:`jupyterlab_mlops.drift.chunked`).
    ``methods``: None for the defaults, one method name (``"ks"``, ``"wasserstein"``,
    ``"psi"``, ``"chisquare"``, ``"jensenshannon"``) for every column it applies to, or
    ``{column: method}``. Other keywords (``columns``, ``rules``, ``progress``, ``workers``,
    ``title``) go to :func:`~jupyterlab_mlops.drift.report.compute_report`.
    """
    reference, methods = resolve_reference(reference, methods, _resolve)
    return compute_report(reference, current, methods, **kwargs)


__all__ = ["drift_report"]
