"""Serving: deployments of registered versions, and the process that serves one.

Two halves that share definitions but not imports:

- in the Jupyter server — ``service.DeploymentService`` (the facade: create, stop, canary,
  alias following, liveness) over ``records`` (the ``deployments`` table), ``deployers/``
  (local process, docker image and container, kubernetes manifests), ``bundle`` (what a serving
  process needs, written from the registry through ``ports``), ``following`` and ``stats``;
- the serving process — ``python -m jupyterlab_mlops.serving`` (``__main__``): the FastAPI
  ``app`` with its ``routes``, ``state``, hot-swap ``control``, ``validation`` of rows,
  micro-``batching``, Prometheus ``metrics`` and the ``prediction_log``. It imports none of the
  server half (the docker deployer copies exactly what it imports into the image).

``config`` and ``schemas`` hold the pydantic models both halves and the REST handlers use.
Nothing heavy is imported here: ``python -m jupyterlab_mlops.serving`` must start fast.
"""
