"""Drift monitoring: reference profiles, vectorised statistics, reports, monitors and alerts.

The pure statistics core: ``profile.py`` (a training sample's profile, made at registration),
``reference.py`` (a profile or data as the reference side), ``methods.py`` and ``stats.py`` (the
tests), ``report.py`` (``compute_report`` and ``DriftReport``), ``rules.py``, ``performance.py``,
``estimation.py`` (performance estimated without labels, CBPE) and ``widget.py``. It takes
resolved references only; model refs are resolved above it.

The monitors: ``config.py`` (a monitor's pydantic config), ``monitors.py`` (monitors and their
results), ``checks.py`` (the one check pipeline), ``alerts.py`` (alerts and their delivery
through ``channels.py``), ``service.py`` (``MonitorService``, the domain's entry point),
``schemas.py`` (the REST API's models) and ``ports.py`` (what drift needs from serving, the
registry and runs, injected by ``app.py``). Retraining lives in ``workflows/retrain.py``.

``profile.py`` and ``estimation.py`` are imported by the registry at registration, so this
package keeps its imports lazy: nothing heavy (scipy, ipywidgets, scikit-learn) is loaded until
a report is computed or an estimator fitted.
"""
