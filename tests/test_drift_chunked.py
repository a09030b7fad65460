"""Drift reports of data read in bounded memory (Parquet files and datasets, CSV, iterators of
DataFrames): identical to the in-memory report when columns fit the budget, within the
documented bound on the quantile grid when a column is streamed, and a peak memory that stays
well below the data's size."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import jupyterlab_mlops as mlops
from jupyterlab_mlops.drift.chunked import GRID_POINTS, NUMERIC_ROW_BYTES, chunked_report
from jupyterlab_mlops.drift.report import compute_report
from jupyterlab_mlops.errors import InvalidInput, NotFound

STATISTICS = [
    "n_reference",
    "n_current",
    "reference_missing_rate",
    "current_missing_rate",
    "reference_mean",
    "current_mean",
    "mean_shift_pct",
    "new_category_share",
    "ks_statistic",
    "ks_p_value",
    "wasserstein",
    "psi",
    "chi2_statistic",
    "chi2_p_value",
    "jensenshannon",
    "statistic",
    "p_value",
]


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "income": rng.normal(50_000 * (1 + shift), 8_000, n),
            "age": rng.normal(40 + 10 * shift, 9, n),
            "visits": rng.poisson(3 + 2 * shift, n).astype(np.int64),
            "plan": rng.choice(
                ["basic", "plus", "pro"], n, p=[0.5, 0.3 - shift / 4, 0.2 + shift / 4]
            ),
            "active": rng.random(n) < 0.6 + shift / 5,
        }
    )
    data.loc[rng.random(n) < 0.02 + shift / 10, "age"] = np.nan
    return data


def assert_same_rows(chunked, exact, names, **tolerance):
    for name in names:
        a, b = chunked.column(name), exact.column(name)
        assert a["drifted"] == b["drifted"], name
        for key in STATISTICS:
            x, y = a[key], b[key]
            if isinstance(y, float) and math.isnan(y):
                assert isinstance(x, float) and math.isnan(x), (name, key, x)
            else:
                assert x == pytest.approx(y, **tolerance), (name, key)
        assert a["new_categories"] == b["new_categories"]
        assert a["histogram"] == b["histogram"], name


@pytest.fixture(scope="module")
def data():
    return frame(20_000, 1), frame(120_000, 2, shift=0.3)


def test_parquet_files_datasets_csv_and_iterators_match_the_in_memory_report(data, tmp_path):
    reference, current = data
    exact = compute_report(reference, current)
    names = list(reference.columns)

    path = tmp_path / "current.parquet"
    current.to_parquet(path, row_group_size=25_000)
    # A budget of one numeric column at a time: five groups, each computed exactly.
    one_column = 120_000 * NUMERIC_ROW_BYTES
    report = chunked_report(reference, str(path), memory_budget=one_column)
    assert_same_rows(report, exact, names, rel=1e-12, abs=1e-15)
    assert report.summary["n_current_rows"] == 120_000
    assert report.drifted_columns == exact.drifted_columns
    assert report.alerts == exact.alerts

    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for part, start in enumerate(range(0, 120_000, 40_000)):
        current.iloc[start : start + 40_000].to_parquet(dataset / f"part-{part}.parquet")
    assert_same_rows(chunked_report(reference, dataset), exact, names, rel=1e-12, abs=1e-15)

    chunks = (current.iloc[i : i + 30_000] for i in range(0, 120_000, 30_000))
    spilled = mlops.drift_report(reference, chunks, memory_budget=one_column)
    assert_same_rows(spilled, exact, names, rel=1e-12, abs=1e-15)

    csv = tmp_path / "current.csv"
    current.to_csv(csv, index=False)
    from_csv = mlops.drift_report(reference, str(csv))
    numeric_and_categories = ["income", "visits", "plan", "active"]
    assert_same_rows(from_csv, exact, numeric_and_categories, rel=1e-9, abs=1e-12)


def test_a_streamed_column_is_within_the_documented_bound_of_the_exact_one(data, tmp_path):
    reference, current = data
    path = tmp_path / "current.parquet"
    current.to_parquet(path, row_group_size=10_000)
    exact = compute_report(reference, current)
    # A budget smaller than any one numeric column: those are streamed onto the grid.
    streamed = chunked_report(reference, path, memory_budget=1_000_000)
    for name in ("income", "age", "visits"):
        row, truth = streamed.column(name), exact.column(name)
        assert row["approximate"] is True and "reference quantiles" in row["note"]
        for key in ("n_current", "current_missing_rate", "psi", "chi2_statistic"):
            assert row[key] == pytest.approx(truth[key], rel=1e-9), (name, key)
        assert row["current_mean"] == pytest.approx(truth["current_mean"], rel=1e-12)
        bound = row["ks_error_bound"]
        assert 0 < bound < 0.1
        assert abs(row["ks_statistic"] - truth["ks_statistic"]) <= bound + 1e-12, name
        assert row["wasserstein"] == pytest.approx(truth["wasserstein"], rel=0.02, abs=0.002)
        assert row["drifted"] == truth["drifted"]
        assert sum(row["histogram"]["current"]) <= row["n_current"]
    # Categories are counted exactly whatever the budget.
    assert_same_rows(streamed, exact, ["plan", "active"], rel=1e-12)

    # On data like the reference the grid's cells hold ≈ 1/GRID_POINTS of each sample.
    alike = frame(120_000, 3)
    alike.to_parquet(path)
    exact = compute_report(reference, alike)
    streamed = chunked_report(reference, path, memory_budget=1_000_000)
    for name in ("income", "age"):
        row = streamed.column(name)
        assert row["ks_error_bound"] < 3 / GRID_POINTS
        assert (
            abs(row["ks_statistic"] - exact.column(name)["ks_statistic"]) <= (row["ks_error_bound"])
        )
        assert row["drifted"] is exact.column(name)["drifted"] is False


def test_bad_sources_are_refused_naming_them(data, tmp_path):
    reference, current = data
    with pytest.raises(NotFound, match="no such file or dataset"):
        chunked_report(reference, tmp_path / "missing.parquet")
    (tmp_path / "not.parquet").write_text("plain text")
    with pytest.raises(InvalidInput, match="cannot read"):
        chunked_report(reference, tmp_path / "not.parquet")
    chunks = iter([current.head(10), current.head(10).rename(columns={"age": "years"})])
    with pytest.raises(InvalidInput, match="chunk 1 of the current data"):
        chunked_report(reference, chunks)
    with pytest.raises(InvalidInput, match="no chunks"):
        chunked_report(reference, iter([]))


MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    import pandas as pd
    from jupyterlab_mlops.drift.chunked import chunked_report
    from jupyterlab_mlops.drift.reference import Reference

    reference = Reference.coerce(pd.read_parquet(sys.argv[1]))
    chunked_report(reference, sys.argv[1], memory_budget=1)  # warm imports and allocator
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report = chunked_report(reference, sys.argv[2], memory_budget=int(sys.argv[3]))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_extra": after - before, "report": report.to_dict(histograms=False)}))
    """
)


def measured_report(tmp_path, budget: int) -> dict:
    """The report and its peak extra memory (RSS), in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "reference.parquet"),
         str(tmp_path / "current.parquet"), str(budget)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_million_rows_from_parquet_stay_under_a_memory_bound(tmp_path):
    rng = np.random.default_rng(7)
    n, columns = 2_000_000, 6
    reference = pd.DataFrame({f"x{i}": rng.normal(0, 1, 50_000) for i in range(columns)})
    current = pd.DataFrame({f"x{i}": rng.normal(0.1 * (i % 3), 1, n) for i in range(columns)})
    reference.to_parquet(tmp_path / "reference.parquet")
    current.to_parquet(tmp_path / "current.parquet", row_group_size=250_000)
    expected = compute_report(reference, current, workers=1).to_dict(histograms=False)
    data_bytes = n * columns * 8  # 96 MB of current values
    del current

    # Streamed onto the quantile grid: a small fraction of the data's size, within tolerance.
    streamed = measured_report(tmp_path, 16 * 2**20)
    assert streamed["peak_extra"] < 0.3 * data_bytes, streamed["peak_extra"]
    for got, want in zip(streamed["report"]["columns"], expected["columns"], strict=True):
        assert got["column"] == want["column"] and got["drifted"] == want["drifted"]
        assert got["approximate"] is True
        assert abs(got["ks_statistic"] - want["ks_statistic"]) <= got["ks_error_bound"]
        assert got["ks_error_bound"] < 3 / GRID_POINTS
        assert got["wasserstein"] == pytest.approx(want["wasserstein"], rel=0.02, abs=0.002)
        for key in ("psi", "current_mean", "n_current"):
            assert got[key] == pytest.approx(want[key], rel=1e-9), (got["column"], key)

    # One column at a time, exactly: the budget holds, and the numbers are the in-memory ones.
    budget = n * NUMERIC_ROW_BYTES
    exact = measured_report(tmp_path, budget)
    assert exact["peak_extra"] < budget, exact["peak_extra"]
    for got, want in zip(exact["report"]["columns"], expected["columns"], strict=True):
        assert got["approximate"] is False and got["drifted"] == want["drifted"]
        for key in ("ks_statistic", "wasserstein", "psi", "current_mean"):
            assert got[key] == pytest.approx(want[key], rel=1e-12), (got["column"], key)
    assert exact["report"]["summary"]["drifted_columns"] == expected["summary"]["drifted_columns"]
