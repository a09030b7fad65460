"""Serving throughput: our server vs ``mlflow models serve`` on the same scikit-learn model.

    make mlflow-venv                   # .venv-mlflow with mlflow-skinny: the peer (else a plain
    python benchmarks/serving.py       # FastAPI app calling predict per request, and it says so)

Trains RandomForestClassifier(n_estimators=100) on load_breast_cancer, registers it, writes its
serving bundle, serves it with ``python -m jupyterlab_mlops.serving`` and with the peer, and drives
both with the same load — Debian's ``wrk`` with a Lua POST script when installed, else an asyncio
httpx client with a bounded request count and time — to 127.0.0.1 only. Prints requests/s, p50,
p99 and errors side by side for 1-row and 100-row payloads at 8 and 32 connections, the ratio,
and start-up time (process start to the first 200 on the prediction route). Our server is also
driven through its Open Inference Protocol (``/v2/models/{name}/infer``) and MLflow
(``/invocations``) routes, beside ``/predict``. Measurements of one run on one machine: compare
the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from jupyterlab_mlops.serving.deployers.base import free_port

PEER_APP = '''
"""The plain peer: FastAPI calling predict per request (what most hand-written servers do)."""
import pickle, sys
import pandas as pd
from fastapi import FastAPI, Request

model = pickle.load(open(sys.argv[1], "rb"))  # our own file, written by this benchmark
app = FastAPI()

@app.get("/health")
def health():
    return {"status": "ok"}

@app.post("/invocations")
async def invocations(request: Request):
    body = await request.json()
    frame = pd.DataFrame(body["dataframe_records"])
    return {"predictions": model.predict(frame).tolist()}
'''


class Process:
    """A server subprocess; ``startup`` is the time from spawn to the first 200 on ``health``."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        health_url: str,
        log: Path,
        env: dict | None = None,
        timeout: float = 180.0,
        first_request: tuple[str, bytes] | None = None,
    ):
        self.name = name
        self.log = open(log, "wb")  # noqa: SIM115
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited {self.proc.returncode}; see {log}")
            try:
                if first_request is not None:  # the first 200 on the prediction route itself
                    url, body = first_request
                    response = httpx.post(
                        url,
                        content=body,
                        headers={"content-type": "application/json"},
                        timeout=30,
                        trust_env=False,
                    )
                else:
                    response = httpx.get(health_url, timeout=2, trust_env=False)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not answer {health_url}; see {log}")
            time.sleep(0.02)
        self.startup = time.perf_counter() - start

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# -- load generators --------------------------------------------------------------------------

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb")
wrk.body = f:read("*all")
f:close()
"""


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, body: bytes, connections: int, seconds: float, workdir: Path) -> dict:
    body_file = workdir / f"body-{len(body)}.json"
    body_file.write_bytes(body)
    script = workdir / f"post-{len(body)}.lua"
    script.write_text(WRK_LUA.format(body=body_file))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{int(seconds)}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def run_httpx(url: str, body: bytes, connections: int, seconds: float, max_requests: int) -> dict:
    async def main() -> dict:
        latencies: list[float] = []
        errors = 0
        stop_at = time.perf_counter() + seconds
        sent = 0
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:

            async def worker() -> None:
                nonlocal errors, sent
                while time.perf_counter() < stop_at and sent < max_requests:
                    sent += 1
                    t = time.perf_counter()
                    try:
                        r = await client.post(
                            url, content=body, headers={"content-type": "application/json"}
                        )
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    latencies.append(time.perf_counter() - t)
                    errors += not ok

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - start
        latencies.sort()
        n = len(latencies)
        return {
            "rps": n / elapsed,
            "p50": latencies[n // 2] * 1000,
            "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
            "errors": errors,
        }

    return asyncio.run(main())


# -- the model and the two servers ------------------------------------------------------------


def build_model(workdir: Path):
    import pandas as pd  # noqa: F401 - the frame type the model is trained on
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    from jupyterlab_mlops.app import MLOps
    from jupyterlab_mlops.serving.bundle import write_bundle

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    mlops = MLOps(root_dir=str(workdir))
    mlops.registry.register(model, "cancer", X_sample=X, y_sample=y, user="bench")
    bundle = workdir / "bundle"
    write_bundle(mlops, "cancer/1", bundle)
    mlops.stop()
    return model, X, bundle


def start_ours(bundle: Path, workdir: Path, workers: int, first_body: bytes) -> tuple[Process, str]:
    port = free_port()
    proc = Process(
        f"jupyterlab-mlops ({workers} worker{'s' if workers > 1 else ''})",
        [
            sys.executable,
            "-m",
            "jupyterlab_mlops.serving",
            "--bundle",
            str(bundle),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--prediction-log",
            str(workdir / f"predictions-{port}.db"),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        f"http://127.0.0.1:{port}/health",
        workdir / f"ours-{port}.log",
        first_request=(f"http://127.0.0.1:{port}/predict", first_body),
    )
    return proc, f"http://127.0.0.1:{port}"


MLFLOW_VENV = Path(
    os.environ.get("MLFLOW_VENV", Path(__file__).resolve().parent.parent / ".venv-mlflow")
)  # `make mlflow-venv`


def start_peer(model, X, workdir: Path, first_body: bytes) -> tuple[Process, str, str]:
    port = free_port()
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which(
        "mlflow", path=str(MLFLOW_VENV / "bin")
    )
    if mlflow_cli is not None:
        from jupyterlab_mlops.registry.mlflow_format import write_mlflow_model
        from jupyterlab_mlops.registry.signature import infer_signature

        path = workdir / "mlflow-model"
        if not path.exists():  # what mlflow.sklearn.save_model writes (registry/mlflow_format)
            signature = infer_signature(X, None, model)
            write_mlflow_model(
                path, model, {"name": "cancer", "version": 1, "signature": signature}
            )
        invocations = f"http://127.0.0.1:{port}/invocations"
        proc = Process(
            "mlflow models serve",
            [
                mlflow_cli,
                "models",
                "serve",
                "-m",
                str(path),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            f"http://127.0.0.1:{port}/ping",
            workdir / f"mlflow-{port}.log",
            env={  # mlflow execs `uvicorn` from PATH: its own venv's
                "MLFLOW_TRACKING_URI": f"file://{workdir / 'mlruns'}",
                "PATH": f"{Path(mlflow_cli).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            },
            first_request=(invocations, first_body),
        )
        return proc, invocations, "mlflow"
    import pickle

    (workdir / "peer.pkl").write_bytes(pickle.dumps(model))
    (workdir / "peer_app.py").write_text(PEER_APP)
    proc = Process(
        "plain FastAPI (predict per request)",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(workdir),
            "peer_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        f"http://127.0.0.1:{port}/health",
        workdir / f"peer-{port}.log",
        env={"PYTHONPATH": str(workdir)},
        first_request=(f"http://127.0.0.1:{port}/invocations", first_body),
    )
    return proc, f"http://127.0.0.1:{port}/invocations", "plain"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per cell")
    parser.add_argument(
        "--max-requests", type=int, default=100_000, help="request cap per cell (httpx client)"
    )
    parser.add_argument("--connections", default="8,32")
    parser.add_argument("--rows", default="1,100")
    parser.add_argument("--workers", type=int, default=1, help="our server's worker processes")
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    row_counts = [int(r) for r in args.rows.split(",")]
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"

    workdir = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    try:
        model, X, bundle = build_model(workdir)
        print(
            f"model: RandomForestClassifier(n_estimators=100) on load_breast_cancer; "
            f"load: {client}, {args.seconds:g} s per cell; machine: {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f} at start",
            flush=True,
        )
        one_row = X.head(1).to_dict("records")
        peer, peer_url, peer_kind = start_peer(
            model, X, workdir, json.dumps({"dataframe_records": one_row}).encode()
        )
        ours, our_base = start_ours(
            bundle, workdir, args.workers, json.dumps({"records": one_row}).encode()
        )
        servers = [
            (peer.name, peer, peer_url, peer_kind),
            (ours.name, ours, f"{our_base}/predict", "ours"),
        ]
        protocols = [
            (f"{ours.name} OIP /v2/…/infer", ours, f"{our_base}/v2/models/cancer/infer", "oip"),
            (f"{ours.name} /invocations", ours, f"{our_base}/invocations", "mlflow"),
        ]
        if peer_kind == "plain":
            print(
                "mlflow is not importable: the peer is a plain FastAPI app calling predict "
                "per request",
                flush=True,
            )
        results = []
        try:
            for rows in row_counts:
                records = X.sample(rows, random_state=rows, replace=rows > len(X))
                records = records.to_dict("records")
                bodies = {"ours": json.dumps({"records": records}).encode()}
                bodies["mlflow"] = bodies["plain"] = json.dumps(
                    {"dataframe_records": records}
                ).encode()
                bodies["oip"] = json.dumps(
                    {
                        "inputs": [
                            {
                                "name": column,
                                "shape": [rows],
                                "datatype": "FP64",
                                "data": [r[column] for r in records],
                            }
                            for column in X.columns
                        ]
                    }
                ).encode()
                for conns in connections:
                    for name, _, url, kind in servers + protocols:
                        # warm up (first requests import lazily, fill caches)
                        for _ in range(3):
                            httpx.post(
                                url,
                                content=bodies[kind],
                                trust_env=False,
                                timeout=30,
                                headers={"content-type": "application/json"},
                            )
                        if client == "wrk":
                            r = run_wrk(url, bodies[kind], conns, args.seconds, workdir)
                        else:
                            r = run_httpx(url, bodies[kind], conns, args.seconds, args.max_requests)
                        results.append({"server": name, "rows": rows, "conns": conns, **r})
                        print(
                            f"  {name:<40} {rows:>4} rows {conns:>3} conns: "
                            f"{r['rps']:8.1f} req/s p50 {r['p50']:7.1f} ms "
                            f"p99 {r['p99']:7.1f} ms errors {r['errors']}",
                            flush=True,
                        )
        finally:
            for _, proc, _, _ in servers:
                proc.stop()
        print()
        print("| payload | conns | server | req/s | rows/s | p50 ms | p99 ms | errors |")
        print("|---|---|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(
                f"| {r['rows']} row{'s' if r['rows'] > 1 else ''} | {r['conns']} | "
                f"{r['server']} | {r['rps']:.1f} | {r['rps'] * r['rows']:.0f} | "
                f"{r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |"
            )
        print()
        print("| payload | conns | throughput ratio (ours / peer) | p99 ratio (ours / peer) |")
        print("|---|---|---:|---:|")
        for i in range(0, len(results), 4):
            peer_r, ours_r = results[i], results[i + 1]
            print(
                f"| {ours_r['rows']} row{'s' if ours_r['rows'] > 1 else ''} | "
                f"{ours_r['conns']} | {ours_r['rps'] / peer_r['rps']:.2f}x | "
                f"{ours_r['p99'] / peer_r['p99']:.2f}x |"
            )
        print()
        print("| route of ours | payload | conns | req/s | ratio to /predict |")
        print("|---|---|---|---:|---:|")
        for i in range(0, len(results), 4):
            ours_r = results[i + 1]
            for other in results[i + 2 : i + 4]:
                print(
                    f"| {other['server'].removeprefix(ours.name).strip()} | {other['rows']} | "
                    f"{other['conns']} | {other['rps']:.1f} | {other['rps'] / ours_r['rps']:.2f}x |"
                )
        print()
        print(
            f"start-up (process start to the first 200 on the prediction route): "
            f"{peer.name} {peer.startup:.2f} s, {ours.name} {ours.startup:.2f} s"
        )
        print(
            f"load average {os.getloadavg()[0]:.1f} at the end (other processes skew absolute "
            "numbers; the side-by-side ratios are what this measures)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
