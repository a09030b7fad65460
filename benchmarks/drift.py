"""Drift report speed: 20 numeric + 5 categorical columns, 100 000 reference × 1 000 000 current.

Measured side by side in one run on the same generated data:

- **ours** — ``compute_report`` (every statistic of each column: KS, normed Wasserstein, PSI,
  chi-square, Jensen–Shannon, missing rates, means, histograms), and again with only the chosen
  method per column (``all_statistics=False``);
- **naive scipy** — the per-column loop one writes by hand: ``scipy.stats.ks_2samp``,
  ``wasserstein_distance``, ``chi2_contingency``, ``jensenshannon``, ``np.histogram`` PSI and
  pandas counts, computing the same numbers (checked equal);
- **Evidently** ``DataDriftPreset`` when it can be imported — in this interpreter, or in the
  interpreter given by ``--evidently-python`` / ``MLOPS_BENCH_EVIDENTLY_PYTHON`` (Evidently 0.7
  needs pandas < 3; a separate venv keeps it away from the project's), which regenerates the same
  data from the same seed and times only the report.

The **public call** ``mlops.drift_report(ref, cur)`` — what a user calls: it also profiles the
reference DataFrame — is timed beside the internal ``compute_report`` path.

Peak memory of our report (tracemalloc, a separate run) is printed against the input size.

**Out of core** (``--parquet-rows 10000000 --parquet-columns 50``): the current data are written
to a Parquet file chunk by chunk (never whole in memory), then ``mlops.drift_report(ref, path)``
runs in a fresh process that prints its time and its **peak extra memory**, measured one way:
the kernel's peak resident set (``VmHWM``) reset to the resident set right before the call
(``/proc/self/clear_refs``), minus that baseline — so imports, the reference's loading and a
warm-up call are not counted, and nothing between samples is missed. Beside it, for a check,
the peak of RSS sampled every 5 ms by a psutil thread, and tracemalloc's peak of Python (numpy)
allocations (Arrow's buffers are not in it). With ``--evidently-python`` the same files are
loaded with pandas and given to Evidently in a process of its own, whose RSS is watched from
here: it is stopped above ``--evidently-memory-cap`` GiB (12) or after ``--evidently-timeout``
seconds, and what happened (time, or where it was stopped) is printed beside ours.

    python benchmarks/drift.py [--reference-rows 100000] [--current-rows 1000000]
    python benchmarks/drift.py --parquet-rows 10000000 --parquet-columns 50 [--evidently-python …]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_NUMERIC, N_CATEGORICAL = 20, 5


def make_data(n_ref: int, n_cur: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numeric columns (5 of them drift), categorical strings (2 drift, one gains a category)."""
    rng = np.random.default_rng(seed)

    def frame(n: int, current: bool) -> pd.DataFrame:
        columns: dict[str, np.ndarray] = {}
        for i in range(N_NUMERIC):
            shift = 0.3 * (i % 4 == 0) if current else 0.0
            values = rng.normal(10 * i + shift * (i + 1), 1 + i / 10, n)
            if i % 5 == 1:  # a few missing values
                values[rng.random(n) < 0.02] = np.nan
            columns[f"num_{i}"] = values
        for j in range(N_CATEGORICAL):
            k = 4 + 4 * j
            weights = np.linspace(1, 2, k)
            if current and j < 2:
                weights = weights[::-1]
            labels = np.array([f"c{j}_{v}" for v in range(k)], dtype=object)
            if current and j == 4:
                labels[-1] = "brand_new"
            columns[f"cat_{j}"] = rng.choice(labels, n, p=weights / weights.sum())
        return pd.DataFrame(columns)

    return frame(n_ref, False), frame(n_cur, True)


# -- the naive peer -------------------------------------------------------------------------


def naive_report(ref: pd.DataFrame, cur: pd.DataFrame, all_statistics: bool) -> list[dict]:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    rows = []
    for name in ref.columns:
        r, c = ref[name], cur[name]
        row = {
            "column": name,
            "reference_missing_rate": float(r.isna().mean()),
            "current_missing_rate": float(c.isna().mean()),
        }
        if pd.api.types.is_numeric_dtype(r):
            a, b = r.dropna().to_numpy(), c.dropna().to_numpy()
            row["reference_mean"], row["current_mean"] = float(a.mean()), float(b.mean())
            row["wasserstein"] = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
            counts, edges = np.histogram(a, bins=10)
            row["histogram"] = np.histogram(b, bins=edges)[0].tolist()
            if all_statistics:
                ks = stats.ks_2samp(a, b)
                row["ks_statistic"], row["ks_p_value"] = float(ks.statistic), float(ks.pvalue)
                deciles = np.unique(np.quantile(a, np.arange(1, 10) / 10))
                bins = np.concatenate([[-np.inf], deciles, [np.inf]])
                ref_counts = np.histogram(a, bins=bins)[0]
                cur_counts = np.histogram(b, bins=bins)[0]
                p = np.maximum(ref_counts / ref_counts.sum(), 1e-4)
                q = np.maximum(cur_counts / cur_counts.sum(), 1e-4)
                row["psi"] = float(np.sum((q - p) * np.log(q / p)))
        else:
            rc, cc = r.value_counts(), c.value_counts()
            table = pd.concat([rc, cc], axis=1).fillna(0).to_numpy().T
            row["jensenshannon"] = float(jensenshannon(table[0], table[1]))
            row["new_categories"] = sorted(set(cc.index) - set(rc.index))
            if all_statistics:
                chi = stats.chi2_contingency(table)
                row["chi2_statistic"], row["chi2_p_value"] = float(chi.statistic), chi.pvalue
        rows.append(row)
    return rows


def compare_results(ours: list[dict], naive: list[dict]) -> float:
    """Largest relative difference between our numbers and the naive loop's."""
    worst = 0.0
    by_name = {r["column"]: r for r in ours}
    for row in naive:
        mine = by_name[row["column"]]
        for key, value in row.items():
            if isinstance(value, float) and key in mine and math.isfinite(value):
                other = float(mine[key])
                scale = max(abs(value), 1e-300)
                worst = max(worst, abs(other - value) / scale if abs(value) > 1e-12 else 0.0)
    return worst


# -- Evidently ------------------------------------------------------------------------------


def evidently_seconds(ref: pd.DataFrame, cur: pd.DataFrame) -> float:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")
    from evidently import Report
    from evidently.presets import DataDriftPreset

    report = Report([DataDriftPreset()])
    started = time.perf_counter()
    report.run(current_data=cur, reference_data=ref)
    return time.perf_counter() - started


def run_evidently(args: argparse.Namespace) -> tuple[float | None, str]:
    python = args.evidently_python or os.environ.get("MLOPS_BENCH_EVIDENTLY_PYTHON")
    if not python:
        try:
            import evidently  # noqa: F401
        except Exception as err:  # noqa: BLE001 - any import failure means "not available"
            return None, f"not importable here ({type(err).__name__}); pass --evidently-python"
        ref, cur = make_data(args.reference_rows, args.current_rows, args.seed)
        return evidently_seconds(ref, cur), "in-process"
    command = [
        python,
        str(Path(__file__).resolve()),
        "--evidently-only",
        "--reference-rows",
        str(args.reference_rows),
        "--current-rows",
        str(args.current_rows),
        "--seed",
        str(args.seed),
    ]
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return None, f"failed: {done.stderr.strip().splitlines()[-1:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], f"{python} (evidently {result['version']})"


# -- out of core ----------------------------------------------------------------------------

OUT_OF_CORE_CHILD = """
import gc, json, sys, threading, time, tracemalloc
import pandas as pd
import psutil
import jupyterlab_mlops as mlops

def status(field):  # a kB field of /proc/self/status, in bytes
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

reference = pd.read_parquet(sys.argv[1])
mlops.drift_report(reference.head(1000), sys.argv[1], progress=False)  # warm imports and pools
gc.collect()
baseline = status("VmRSS")
with open("/proc/self/clear_refs", "w") as reset:  # the kernel's peak RSS (VmHWM) := RSS now
    reset.write("5")
sampled, done = [baseline], threading.Event()
def sample(process=psutil.Process()):
    while not done.wait(0.005):
        sampled.append(process.memory_info().rss)
watcher = threading.Thread(target=sample, daemon=True)
watcher.start()
tracemalloc.start()
started = time.perf_counter()
report = mlops.drift_report(reference, sys.argv[2], progress=False)
seconds = time.perf_counter() - started
python_peak = tracemalloc.get_traced_memory()[1]
done.set()
watcher.join()
print(json.dumps({"seconds": seconds, "peak_extra": status("VmHWM") - baseline,
                  "sampled_extra": max(sampled) - baseline, "python_peak": python_peak,
                  "drifted": report.summary["n_drifted"], "columns": report.summary["n_columns"],
                  "approximate": sum(bool(c["approximate"]) for c in report.columns)}))
"""

EVIDENTLY_PARQUET_CHILD = """
import json, os, sys, time
os.environ.setdefault("DO_NOT_TRACK", "1")
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

started = time.perf_counter()
reference, current = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
loaded = time.perf_counter()
Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
print(json.dumps({"load_seconds": loaded - started, "seconds": time.perf_counter() - loaded}))
"""


def watch_evidently(command: list[str], env: dict, cap: int, timeout: float) -> str:
    """Run Evidently in a process of its own, sampling its RSS; stop it above ``cap`` bytes
    or after ``timeout`` seconds."""
    import psutil

    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if peak > cap:
            child.kill()
            child.wait()
            return (
                f"stopped: its memory reached {peak / 2**30:.1f} GiB (the cap) after "
                f"{time.perf_counter() - started:.0f} s, report not finished"
            )
        if time.perf_counter() - started > timeout:
            child.kill()
            child.wait()
            return f"stopped after {timeout:.0f} s (not finished), peak RSS {peak / 2**30:.1f} GiB"
        time.sleep(0.1)
    out, err = child.communicate()
    if child.returncode != 0:
        why = (err.decode().strip().splitlines() or [f"exit code {child.returncode}"])[-1]
        seconds = time.perf_counter() - started
        return f"failed after {seconds:.0f} s ({why}), peak RSS {peak / 2**30:.1f} GiB"
    theirs = json.loads(out.decode().strip().splitlines()[-1])
    return (
        f"{theirs['seconds']:.1f} s (+ {theirs['load_seconds']:.1f} s loading the Parquet with "
        f"pandas), peak RSS {peak / 2**30:.1f} GiB"
    )


def write_parquet(path: Path, rows: int, columns: int, seed: int, shifted: bool) -> None:
    """``rows`` × ``columns`` normal values (every third column shifted), chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        frame = pd.DataFrame(
            {
                f"x{i}": rng.normal(0.2 * (i % 3 == 0) if shifted else 0.0, 1.0 + i / 50, n)
                for i in range(columns)
            }
        )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def out_of_core(args: argparse.Namespace) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as folder:
        ref_path, cur_path = Path(folder) / "reference.parquet", Path(folder) / "current.parquet"
        write_parquet(ref_path, args.reference_rows, args.parquet_columns, args.seed, False)
        write_parquet(cur_path, args.parquet_rows, args.parquet_columns, args.seed + 1, True)
        size = args.parquet_rows * args.parquet_columns * 8
        print(
            f"data: {args.parquet_columns} numeric columns, {args.reference_rows:,} reference × "
            f"{args.parquet_rows:,} current rows ({size / 1e9:.1f} GB as float64; "
            f"{cur_path.stat().st_size / 1e9:.1f} GB of Parquet)"
        )
        command = [sys.executable, "-c", OUT_OF_CORE_CHILD, str(ref_path), str(cur_path)]
        ours = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        print(
            f"ours, mlops.drift_report(ref, 'current.parquet'): {ours['seconds']:.1f} s, peak "
            f"extra memory {ours['peak_extra'] / 2**20:.0f} MiB (kernel peak RSS above the "
            f"baseline; sampled every 5 ms: {ours['sampled_extra'] / 2**20:.0f} MiB; Python "
            f"allocations, tracemalloc: {ours['python_peak'] / 2**20:.0f} MiB), "
            f"{ours['drifted']}/{ours['columns']} columns drifted, "
            f"{ours['approximate']} on the quantile grid"
        )
        python = args.evidently_python or os.environ.get("MLOPS_BENCH_EVIDENTLY_PYTHON")
        if not python:
            print("Evidently: not run (pass --evidently-python)")
            return
        env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
        command = [python, "-c", EVIDENTLY_PARQUET_CHILD, str(ref_path), str(cur_path)]
        outcome = watch_evidently(
            command, env, int(args.evidently_memory_cap * 2**30), args.evidently_timeout
        )
        print(f"Evidently DataDriftPreset on the same data: {outcome}")


# -- main -----------------------------------------------------------------------------------


def timed(func, *args, repeat: int = 1, **kwargs):
    """(value, best of ``repeat`` wall-clock times): the machine may be shared."""
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        value = func(*args, **kwargs)
        best = min(best, time.perf_counter() - started)
    return value, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--current-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="best of N timings (ours, naive)")
    parser.add_argument("--evidently-python", default=None)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--evidently-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parquet-rows", type=int, default=0, help="out-of-core mode")
    parser.add_argument("--parquet-columns", type=int, default=50)
    parser.add_argument("--evidently-timeout", type=float, default=1200.0, help="seconds")
    parser.add_argument(
        "--evidently-memory-cap", type=float, default=12.0, help="GiB; Evidently is stopped above"
    )
    args = parser.parse_args()
    if args.parquet_rows:
        out_of_core(args)
        return

    if args.evidently_only:  # child process in Evidently's interpreter
        import evidently

        ref, cur = make_data(args.reference_rows, args.current_rows, args.seed)
        print(
            json.dumps({"seconds": evidently_seconds(ref, cur), "version": evidently.__version__})
        )
        return

    import tracemalloc

    import jupyterlab_mlops as mlops
    from jupyterlab_mlops.drift.report import compute_report

    ref, cur = make_data(args.reference_rows, args.current_rows, args.seed)
    input_bytes = int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum())
    print(
        f"data: {N_NUMERIC} numeric + {N_CATEGORICAL} categorical columns, "
        f"{len(ref):,} reference × {len(cur):,} current rows, {input_bytes / 1e6:.0f} MB in memory"
    )

    report, _ = timed(compute_report, ref, cur, progress=True)  # shows the progress bar
    ours_all = ours_default = naive_all = naive_default = public = math.inf
    for _ in range(args.repeat):  # interleaved, best of each: fair on a busy machine
        ours_all = min(ours_all, timed(compute_report, ref, cur, progress=False)[1])
        public = min(public, timed(mlops.drift_report, ref, cur, progress=False)[1])
        naive_all_rows, seconds = timed(naive_report, ref, cur, True)
        naive_all = min(naive_all, seconds)
        ours_default = min(
            ours_default, timed(compute_report, ref, cur, all_statistics=False, progress=False)[1]
        )
        naive_default = min(naive_default, timed(naive_report, ref, cur, False)[1])
    difference = compare_results(report.columns, naive_all_rows)

    tracemalloc.start()
    tracemalloc.reset_peak()
    compute_report(ref, cur, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    if args.skip_evidently:
        evidently, where = None, "skipped"
    else:
        evidently, where = run_evidently(args)

    print()
    print(f"{'':38s}{'seconds':>10s}{'naive / ours':>14s}")
    print(f"{'ours, every statistic':38s}{ours_all:10.2f}{naive_all / ours_all:13.1f}×")
    print(f"{'naive scipy loop, every statistic':38s}{naive_all:10.2f}")
    print(f"{'ours, public mlops.drift_report':38s}{public:10.2f}{naive_all / public:13.1f}×")
    print(
        f"{'ours, chosen method only':38s}{ours_default:10.2f}{naive_default / ours_default:13.1f}×"
    )
    print(f"{'naive scipy loop, chosen method only':38s}{naive_default:10.2f}")
    if evidently is not None:
        print(f"{'Evidently DataDriftPreset':38s}{evidently:10.2f}")
        print(
            f"Evidently / ours: {evidently / ours_all:.1f}× (every statistic), "
            f"{evidently / ours_default:.1f}× (chosen method only), "
            f"{evidently / public:.1f}× (public call)   [{where}]"
        )
    else:
        print(f"Evidently: {where}")
    print(f"largest relative difference ours vs naive scipy: {difference:.1e}")
    print(
        f"peak extra memory of our report: {peak / 1e6:.0f} MB = {peak / input_bytes:.2f}× the "
        f"input ({input_bytes / 1e6:.0f} MB)"
    )
    print(f"drifted columns: {report.summary['n_drifted']}/{report.summary['n_columns']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
