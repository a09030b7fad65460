"""The reference profile (the contract the registry stores with every model version)."""

import json

import numpy as np
import pandas as pd
import pytest

from jupyterlab_mlops.drift.profile import SAMPLE_SIZE, build_profile, is_profile
from jupyterlab_mlops.errors import InvalidInput


def _frame(n=455, seed=1):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[:5] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "visits": rng.integers(0, 20, n),
            "city": rng.choice(["a", "b"], n, p=[0.25, 0.75]).astype(object),
            "vip": rng.random(n) < 0.3,
        }
    )


def test_profile_matches_the_contract_format():
    df = _frame()
    profile = build_profile(df)
    assert profile["n_rows"] == 455
    assert list(profile["columns"]) == ["age", "visits", "city", "vip"]
    json.dumps(profile, allow_nan=False)  # JSON-ready, no NaN anywhere
    assert is_profile(profile)

    age = profile["columns"]["age"]
    present = df["age"].dropna().to_numpy()
    assert age["kind"] == "numeric"
    assert (age["count"], age["missing"]) == (450, 5)
    assert age["missing_rate"] == pytest.approx(5 / 455)
    assert age["mean"] == pytest.approx(present.mean(), abs=1e-12)
    assert age["std"] == pytest.approx(present.std(ddof=1), abs=1e-12)
    assert (age["min"], age["max"]) == (present.min(), present.max())
    assert set(age["quantiles"]) == {"0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"}
    assert age["quantiles"]["0.5"] == pytest.approx(np.median(present))
    assert len(age["bin_edges"]) == 11 and len(age["bin_counts"]) == 10
    assert sum(age["bin_counts"]) == 450
    assert len(age["decile_counts"]) == len(age["decile_edges"]) + 1
    assert sum(age["decile_counts"]) == 450
    # Smaller than the sample size: the sample is the whole column, in order.
    assert age["sample"] == present.tolist()

    city = profile["columns"]["city"]
    assert city["kind"] == "categorical"
    assert city["counts"] == df["city"].value_counts().to_dict()
    assert sum(city["frequencies"].values()) == pytest.approx(1.0)

    vip = profile["columns"]["vip"]
    assert vip["kind"] == "boolean"
    assert set(vip["counts"]) <= {"True", "False"}
    assert vip["mean"] == pytest.approx(df["vip"].mean())
    assert profile["columns"]["visits"]["dtype"] == "int64"


def test_large_column_keeps_a_deterministic_sample():
    df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=20_000)})
    first, second = build_profile(df), build_profile(df)
    sample = first["columns"]["x"]["sample"]
    assert len(sample) == SAMPLE_SIZE
    assert sample == second["columns"]["x"]["sample"]
    assert set(sample) <= set(df["x"].tolist())


def test_adversarial_columns_stay_nan_free():
    df = pd.DataFrame(
        {
            "const": np.full(50, 3.0),
            "empty": np.full(50, np.nan),
            "one_cat": ["x"] * 50,
            "inf": [np.inf] * 10 + list(range(40)),
            "nullable_int": pd.array([1, None] * 25, dtype="Int64"),
            "cat": pd.Categorical(["u", "v"] * 25),
        }
    )
    profile = build_profile(df)
    json.dumps(profile, allow_nan=False)
    columns = profile["columns"]
    assert columns["const"]["std"] == 0.0
    assert columns["const"]["bin_counts"] == [0, 0, 0, 0, 0, 50, 0, 0, 0, 0]
    assert columns["empty"]["missing_rate"] == 1.0 and columns["empty"]["mean"] is None
    assert columns["empty"]["sample"] == []
    assert columns["one_cat"]["frequencies"] == {"x": 1.0}
    assert columns["inf"]["missing"] == 10
    assert columns["nullable_int"]["kind"] == "numeric"
    assert columns["nullable_int"]["missing"] == 25
    assert columns["cat"]["kind"] == "categorical"


def test_ndarray_columns_are_named_like_the_signature():
    profile = build_profile(np.arange(12.0).reshape(4, 3))
    assert list(profile["columns"]) == ["f0", "f1", "f2"]


def test_datetime_columns_are_refused_with_a_clear_message():
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3), "x": [1, 2, 3]})
    with pytest.raises(InvalidInput, match="column 'when' holds datetimes"):
        build_profile(df)
