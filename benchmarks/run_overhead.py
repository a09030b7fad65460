"""Wall time of a jupyterlab-mlops run vs the ``papermill`` CLI on the same notebook.

All execute the same small parameterised notebook with the same kernel, measured alternately in
this one process (so machine load affects them alike). Ours includes everything a run does on
top of papermill: validation, provenance (packages, git, hashes), the stored input notebook, a
worker process, per-cell progress writes to the store, the output artifact. Two of ours:

- "server path": ``mlops.runs.submit`` + ``wait`` from a warm process, as the Jupyter server
  (the Run dialog, the REST API) and ``%mlops run`` do;
- "CLI": ``jupyter mlops run`` from a cold process, like the ``papermill`` CLI (it executes the
  run itself when a slot is free).

Goal: ≤ 1.05× the papermill CLI for both. A fourth line, "papermill CLI, no IRI checker", runs
papermill's CLI with the one import ``jupyter mlops`` skips (jsonschema's ``rfc3987_syntax`` IRI
checker, 1.3 s of Lark grammars; see ``jupyterlab_mlops.cli.skip_iri_format_checker``), so the
like-for-like overhead of everything else we do is visible too.

    python benchmarks/run_overhead.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

#: papermill's CLI with the import ``jupyter mlops`` skips, for the like-for-like line
LIKE_FOR_LIKE = (
    "import sys; sys.modules['rfc3987_syntax'] = None; from papermill.cli import papermill; "
    "papermill(prog_name='papermill')"
)


def make_notebook(path: Path) -> None:
    nb = new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_code_cell("alpha = 0.1\nepochs = 3", metadata={"tags": ["parameters"]}),
        new_code_cell("import math\nresult = sum(math.sin(alpha * i) for i in range(9999))"),
        new_code_cell("print(result)"),
    ]
    nbformat.write(nb, path)


def time_command(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def time_service(mlops, root: Path) -> float:
    start = time.perf_counter()
    run = mlops.runs.submit("bench.ipynb", {"alpha": 0.2, "epochs": 2})
    run = mlops.runs.wait(run["id"], poll=0.05)
    elapsed = time.perf_counter() - start
    assert run["status"] == "succeeded", run
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    papermill = shutil.which("papermill") or str(Path(sys.executable).parent / "papermill")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        root = Path(tmp)
        make_notebook(root / "bench.ipynb")
        ours_cmd = [
            sys.executable, "-m", "jupyterlab_mlops.cli", "--root-dir", str(root),
            "run", "bench.ipynb", "-p", "alpha", "0.2", "-p", "epochs", "2",
        ]  # fmt: skip
        peer_args = [
            "bench.ipynb", "out.ipynb", "-p", "alpha", "0.2", "-p", "epochs", "2",
            "-k", "python3", "--no-progress-bar",
        ]  # fmt: skip
        peer_cmd = [papermill, *peer_args]
        like_cmd = [sys.executable, "-c", LIKE_FOR_LIKE, *peer_args]
        from jupyterlab_mlops.app import MLOps

        mlops = MLOps(root_dir=str(root))
        mlops.runs.start()  # as the server does: recovery, queue monitor, warm standby worker
        time_command(peer_cmd, root)  # warm caches (kernel spec, bytecode) for all
        time_command(ours_cmd, root)
        time_service(mlops, root)
        times: dict[str, list[float]] = {
            "server path": [], "CLI": [], "papermill CLI": [], "like for like": []
        }  # fmt: skip
        for i in range(args.repeat):
            contestants = [
                ("server path", lambda: time_service(mlops, root)),
                ("CLI", lambda: time_command(ours_cmd, root)),
                ("papermill CLI", lambda: time_command(peer_cmd, root)),
                ("like for like", lambda: time_command(like_cmd, root)),
            ]
            if i % 2:
                contestants.reverse()  # alternate who goes first
            for name, measure in contestants:
                times[name].append(measure())
            print(
                f"  round {i + 1}: " + "  ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()),
                flush=True,
            )
        mlops.stop()
    peer = statistics.median(times["papermill CLI"])
    print(f"{'':28}{'median':>9}{'min':>9}{'ratio':>9}")
    labels = {
        "server path": "ours: server path",
        "CLI": "ours: jupyter mlops run",
        "papermill CLI": "papermill CLI (peer)",
        "like for like": "papermill CLI, no IRI checker",
    }
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{labels[name]:28}{median:>8.2f}s{min(values):>8.2f}s{median / peer:>8.3f}x")
    for name in ("server path", "CLI"):
        ratio = statistics.median(times[name]) / peer
        print(f"{labels[name]} / papermill CLI: {ratio:.3f}x (goal <= 1.05x)")
    like = statistics.median(times["CLI"]) / statistics.median(times["like for like"])
    print(f"{labels['CLI']} / {labels['like for like']}: {like:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
