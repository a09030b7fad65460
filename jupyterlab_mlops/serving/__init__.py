"""Serving: bundles, the FastAPI serving process, its prediction log, and deployers.

Nothing heavy is imported here: ``python -m jupyterlab_mlops.serving`` must start fast.
"""
