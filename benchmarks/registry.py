"""Registry listing at scale: 10 000 versions of one model listed through REST, page by page.

Starts a real Jupyter server on 127.0.0.1 with the extension, seeds 10 000 versions (each with a
realistic signature and reference profile), then walks ``GET /mlops/api/models/{name}/versions``
page by page and prints the server time of every page (the ``Server-Timing`` header) and the
client round trip. Goal: < 100 ms a page.

Peer, measured side by side in the same run on the same store: the same page computed naively
(load every version row of the model with all its columns, sort and slice in Python), as an ORM
without column pruning or SQL-side pagination would do.

    python benchmarks/registry.py [--versions 10000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from tqdm import tqdm

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.serving.deployers.base import free_port
from jupyterlab_mlops.store import models as m


def seed(mlops: MLOps, name: str, n_versions: int) -> None:
    """One real registration, then ``n_versions - 1`` rows like it, in bulk."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=["age", "income", "tenure", "score"])
    X["plan"] = rng.choice(["basic", "pro", "team"], size=len(X))
    y = (X["age"] + X["score"] > 0).astype(int)
    model = LogisticRegression().fit(X.drop(columns="plan"), y)
    first = mlops.registry.register(
        model, name, X_sample=X.drop(columns="plan"), y_sample=y, metrics={"auc": 0.9}
    )
    with mlops.db.session() as session:
        model_row = session.scalars(
            select(m.RegisteredModel).where(m.RegisteredModel.name == name)
        ).one()
        template = session.scalars(
            select(m.ModelVersion).where(m.ModelVersion.model_id == model_row.id)
        ).one()
        base = {
            c.name: getattr(template, c.key)
            for c in m.ModelVersion.__table__.columns
            if c.name not in ("id", "version", "metrics", "created_at")
        }
        model_id = model_row.id
    batch = 1000
    with tqdm(total=n_versions - 1, desc="seeding versions", unit="ver") as bar:
        for start in range(2, n_versions + 1, batch):
            stop = min(start + batch, n_versions + 1)
            rows = [
                {**base, "version": v, "metrics": {"auc": 0.8 + (v % 97) / 1000, "f1": 0.7}}
                for v in range(start, stop)
            ]
            with mlops.db.session() as session:
                session.execute(insert(m.ModelVersion), rows)
                session.get(m.RegisteredModel, model_id).last_version = stop - 1
            bar.update(len(rows))
    print(f"seeded {n_versions} versions; profile of each: {len(str(first['profile']))} chars")


def naive_page(mlops: MLOps, name: str, offset: int, limit: int) -> list[dict]:
    """The peer: every row with every column, sorted and sliced in Python."""
    with mlops.db.session() as session:
        model = session.scalars(
            select(m.RegisteredModel).where(m.RegisteredModel.name == name)
        ).one()
        rows = sorted(model.versions, key=lambda r: r.version, reverse=True)
        aliases = {a.version: a.alias for a in model.aliases}
        return [
            mlops.registry.version_dict(
                name, r, [aliases[r.version]] if r.version in aliases else []
            )
            for r in rows[offset : offset + limit]
        ]


def start_server(root: str, port: int, token: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for key in [k for k in env if k.startswith("MLOPS_")]:
        del env[key]
    command = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
        f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
        "--ServerApp.jpserver_extensions={'jupyterlab_mlops': True}",
    ]  # fmt: skip
    log = open(Path(root) / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)


def wait_ready(client: httpx.Client, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if client.get("/mlops/api/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the Jupyter server did not come up in time; see server.log")


def server_ms(response: httpx.Response) -> float:
    timing = response.headers["Server-Timing"]  # app;dur=12.34
    return float(timing.split("dur=")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--peer-pages", type=int, default=3, help="Pages timed for the peer.")
    options = parser.parse_args()
    name = "churn"
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as root:
        mlops = MLOps(root_dir=root)
        seed(mlops, name, options.versions)
        mlops.registry.set_alias(name, "production", options.versions // 2)
        port, token = free_port(), secrets.token_hex(16)
        server = start_server(root, port, token)
        try:
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"token {token}"},
                timeout=60,
            )
            wait_ready(client, time.monotonic() + 120)
            # One request first, reported on its own: the first query after start-up pays for
            # statement compilation and a cold SQLite page cache.
            cold = client.get(f"/mlops/api/models/{name}/versions", params={"limit": 1})
            cold_ms = server_ms(cold)
            pages = -(-options.versions // options.page_size)
            server_times, client_times, seen = [], [], 0
            print(f"\nGET /mlops/api/models/{name}/versions, limit={options.page_size}:")
            for page in range(pages):
                started = time.perf_counter()
                response = client.get(
                    f"/mlops/api/models/{name}/versions",
                    params={"offset": page * options.page_size, "limit": options.page_size},
                )
                client_times.append((time.perf_counter() - started) * 1e3)
                response.raise_for_status()
                body = response.json()
                seen += len(body["items"])
                server_times.append(server_ms(response))
                print(
                    f"  page {page + 1:>3}/{pages}  server {server_times[-1]:7.2f} ms  "
                    f"round trip {client_times[-1]:7.2f} ms  ({len(response.content)} bytes)"
                )
            assert seen == options.versions and body["total"] == options.versions
            models = client.get("/mlops/api/models")
            print(f"GET /mlops/api/models (1 model, {options.versions} versions): "
                  f"server {server_ms(models):.2f} ms")  # fmt: skip

            # the peer, in-process against the same store, next to ours in-process
            ours, naive = [], []
            for page in range(options.peer_pages):
                offset = page * options.page_size
                started = time.perf_counter()
                fast = mlops.registry.list_versions(name, offset=offset, limit=options.page_size)
                ours.append((time.perf_counter() - started) * 1e3)
                started = time.perf_counter()
                slow = naive_page(mlops, name, offset, options.page_size)
                naive.append((time.perf_counter() - started) * 1e3)
                assert [v["version"] for v in fast["items"]] == [v["version"] for v in slow]
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            mlops.stop()

    def summary(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return (f"median {statistics.median(values):7.2f} ms  p95 {p95:7.2f} ms  "
                f"max {max(values):7.2f} ms")  # fmt: skip

    print(f"\nfirst request after server start (cold): server {cold_ms:.2f} ms")
    print(f"REST, {pages} pages of {options.page_size} ({options.versions} versions)")
    print(f"  server time  {summary(server_times)}   goal < 100 ms a page: "
          f"{'met' if max(server_times) < 100 else 'NOT met'}")  # fmt: skip
    print(f"  round trip   {summary(client_times)}")
    print(f"\nSame page in-process, {options.peer_pages} pages (peer measured side by side)")
    print(f"  registry.list_versions   {summary(ours)}")
    print(f"  naive (load all, slice)  {summary(naive)}")
    print(f"  ratio naive / ours: {statistics.median(naive) / statistics.median(ours):.1f}x")


if __name__ == "__main__":
    main()
