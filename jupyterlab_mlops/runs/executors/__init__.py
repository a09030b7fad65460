"""Where run workers execute: ``local`` (subprocesses, the default) or ``dask``."""
