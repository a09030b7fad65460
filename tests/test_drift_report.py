"""DriftReport: per-column results, method choice, the profile path, rules, the widget."""

import base64
import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon
from sklearn.datasets import load_wine
from sklearn.tree import DecisionTreeClassifier

import jupyterlab_mlops as mlops_api
from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.drift.charts import VEGALITE_MIME, histogram_spec, history_spec
from jupyterlab_mlops.drift.profile import build_profile
from jupyterlab_mlops.drift.report import FRAME_COLUMNS
from jupyterlab_mlops.drift.widget import DriftWidget
from jupyterlab_mlops.errors import InvalidInput
from jupyterlab_mlops.facade.drift import drift_report


def _frames(n_ref=800, n_cur=900, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)

    def frame(n, delta):
        return pd.DataFrame(
            {
                "age": rng.normal(40 + delta * 10, 10, n),
                "visits": rng.integers(0, 30, n),
                "plan": rng.choice(["basic", "pro", "team"], n, p=[0.5, 0.3, 0.2]),
                "vip": rng.random(n) < 0.2 + delta * 0.3,
            }
        )

    return frame(n_ref, 0.0), frame(n_cur, shift)


def test_to_frame_has_one_row_per_column_and_matches_scipy():
    ref, cur = _frames(shift=0.5)
    report = drift_report(ref, cur)
    frame = report.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS
    assert list(frame["column"]) == ["age", "visits", "plan", "vip"]
    row = frame.set_index("column")
    # <= 1000 reference rows: KS for numbers, chi-square for categories and booleans.
    assert list(row["method"]) == ["ks", "ks", "chisquare", "chisquare"]
    ks = sps.ks_2samp(ref["age"], cur["age"])
    assert row.loc["age", "statistic"] == pytest.approx(ks.statistic, abs=1e-12)
    assert row.loc["age", "p_value"] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
    assert row.loc["age", "wasserstein"] == pytest.approx(
        sps.wasserstein_distance(ref["age"], cur["age"]) / np.std(ref["age"]), rel=1e-9
    )
    table = pd.crosstab(
        pd.concat([ref["plan"], cur["plan"]]), np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    ).T.to_numpy()
    chi = sps.chi2_contingency(table)
    assert row.loc["plan", "statistic"] == pytest.approx(chi.statistic, rel=1e-9)
    assert row.loc["plan", "jensenshannon"] == pytest.approx(
        float(jensenshannon(table[0], table[1])), rel=1e-9
    )
    assert math.isnan(row.loc["plan", "ks_statistic"])  # not a numeric column
    assert row.loc["age", "drifted"] and row.loc["vip", "drifted"]
    assert report.summary["n_columns"] == 4
    assert report.drift_share == report.summary["n_drifted"] / 4


def test_no_drift_on_the_same_distribution():
    ref, cur = _frames(seed=1)
    report = drift_report(ref, cur)
    assert report.summary["n_drifted"] <= 1  # p < 0.05 by chance at most once in four
    assert report.alerts == [] or all(a["rule"] != "drift_share" for a in report.alerts)


def test_large_samples_use_distances():
    ref, cur = _frames(n_ref=3000, n_cur=3000, shift=0.0, seed=2)
    report = drift_report(ref, cur).to_frame().set_index("column")
    assert list(report["method"]) == [
        "wasserstein",
        "wasserstein",
        "jensenshannon",
        "jensenshannon",
    ]
    assert report["p_value"].isna().all()  # distances have no p-value
    assert not report["drifted"].any()


def test_from_the_profile_alone_equals_raw_data_when_the_sample_is_whole():
    ref, cur = _frames(shift=0.3, seed=4)
    raw = drift_report(ref, cur).to_frame()
    profile = json.loads(json.dumps(build_profile(ref)))  # as stored in the registry
    from_profile = drift_report(profile, cur).to_frame()
    numbers = [c for c in FRAME_COLUMNS if raw[c].dtype.kind == "f"]
    np.testing.assert_allclose(
        from_profile[numbers].to_numpy(float), raw[numbers].to_numpy(float), rtol=1e-9, atol=1e-12
    )
    assert list(from_profile["drifted"]) == list(raw["drifted"])


def test_from_a_sampled_profile_is_flagged_approximate():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=20_000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 5_000)})
    report = drift_report(build_profile(ref), cur)
    row = report.column("x")
    assert row["approximate"] is True
    assert row["method"] == "wasserstein"
    exact = sps.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert row["statistic"] == pytest.approx(exact, rel=0.1)
    assert row["drifted"]


def test_methods_override_one_for_all_per_column_and_thresholds():
    ref, cur = _frames(shift=0.2, seed=6)
    every = drift_report(ref, cur, "psi").to_frame()
    assert set(every["method"]) == {"psi"}
    mixed = drift_report(ref, cur, "wasserstein").to_frame().set_index("column")
    # One name for all applies where it can; categories keep their default.
    assert mixed.loc["age", "method"] == "wasserstein"
    assert mixed.loc["plan", "method"] == "chisquare"
    custom = drift_report(
        ref, cur, {"age": {"method": "ks", "threshold": 1e-300}, "plan": "js"}
    ).to_frame()
    custom = custom.set_index("column")
    assert custom.loc["age", "threshold"] == 1e-300 and not custom.loc["age", "drifted"]
    assert custom.loc["plan", "method"] == "jensenshannon"
    with pytest.raises(InvalidInput, match="does not apply to categorical column 'plan'"):
        drift_report(ref, cur, {"plan": "ks"})
    with pytest.raises(InvalidInput, match="column 'nope'"):
        drift_report(ref, cur, {"nope": "ks"})
    with pytest.raises(InvalidInput, match="unknown drift method"):
        drift_report(ref, cur, "t-test")


def test_adversarial_columns():
    n = 300
    ref = pd.DataFrame(
        {
            "const": np.full(n, 1.0),
            "empty_now": np.linspace(0, 1, n),
            "one_cat": ["a"] * n,
            "new_cats": np.random.default_rng(0).choice(["a", "b"], n),
            "ints": np.arange(n) % 7,
            "flags": np.arange(n) % 2 == 0,
            "nullable": pd.array([1, 2, None] * 100, dtype="Int64"),
        }
    )
    cur = pd.DataFrame(
        {
            "const": np.full(n, 1.0),
            "empty_now": np.full(n, np.nan),
            "one_cat": ["a"] * n,
            "new_cats": ["a", "b", "c", "d"] * (n // 4),
            "ints": (np.arange(n) % 7).astype(float),
            "flags": [1, 0, 0] * (n // 3),
            "nullable": pd.array([1, 2, 3] * 100, dtype="Int64"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = drift_report(ref, cur)
    rows = report.to_frame().set_index("column")
    assert rows.loc["const", "statistic"] == 0.0 and not rows.loc["const", "drifted"]
    assert rows.loc["const", "mean_shift_pct"] == 0.0
    assert rows.loc["empty_now", "current_missing_rate"] == 1.0
    assert rows.loc["empty_now", "drifted"]
    assert "all missing" in rows.loc["empty_now", "note"]
    assert rows.loc["one_cat", "statistic"] == 0.0 and rows.loc["one_cat", "p_value"] == 1.0
    assert rows.loc["new_cats", "new_categories"] == ["c", "d"]
    assert rows.loc["new_cats", "new_category_share"] == pytest.approx(0.5)
    assert "2 new categories" in rows.loc["new_cats", "note"]
    assert not rows.loc["ints", "drifted"]  # ints vs the same values as floats
    assert rows.loc["flags", "kind"] == "boolean" and rows.loc["flags", "drifted"]
    assert rows.loc["nullable", "reference_missing_rate"] == pytest.approx(1 / 3)
    assert rows.loc["nullable", "missing_rate_change"] == pytest.approx(-1 / 3)
    json.dumps(report.to_dict(), allow_nan=False)


def test_missing_column_and_datetimes():
    ref, cur = _frames(seed=7)
    report = drift_report(ref, cur.drop(columns=["visits"]).assign(extra=1))
    row = report.column("visits")
    assert row["current_missing_rate"] == 1.0 and "missing from the current data" in row["note"]
    assert report.summary["ignored_columns"] == ["extra"]
    with pytest.raises(InvalidInput, match="column 'age' of the current data holds datetimes"):
        drift_report(ref, cur.assign(age=pd.Timestamp("2024-01-01")))
    with pytest.raises(InvalidInput, match="column 'when' holds datetimes"):
        drift_report(ref.assign(when=pd.Timestamp("2024-01-01")), cur)


def test_rules_fire_on_the_seed_examples():
    """'a key feature's mean shifts by 20 %' and 'more than 5 % of requests miss a key feature'."""
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"income": rng.normal(100, 5, 2000), "tenure": rng.normal(10, 2, 2000)})
    cur = pd.DataFrame({"income": rng.normal(100, 5, 1000), "tenure": rng.normal(10, 2, 1000)})
    cur["income"] *= ref["income"].mean() * 1.2 / cur["income"].mean()  # exactly +20 %
    cur.loc[cur.sample(frac=0.06, random_state=0).index, "tenure"] = np.nan  # 6 % missing
    report = drift_report(ref, cur, rules={"features": ["income", "tenure"]})
    fired = {(a["rule"], a["details"].get("column")) for a in report.alerts}
    assert ("mean_shift_pct", "income") in fired
    assert ("missing_rate", "tenure") in fired
    assert ("mean_shift_pct", "tenure") not in fired
    # Just under both thresholds: silent.
    calm = cur.copy()
    calm["income"] *= ref["income"].mean() * 1.19 / calm["income"].mean()
    calm["tenure"] = calm["tenure"].fillna(10.0)
    calm.loc[calm.sample(frac=0.04, random_state=1).index, "tenure"] = np.nan
    quiet = drift_report(ref, calm, rules={"features": ["income", "tenure"]})
    assert {a["rule"] for a in quiet.alerts} <= {"drift_share"}
    # Thresholds are configurable.
    strict = drift_report(ref, calm, rules={"mean_shift_pct": 10, "missing_rate": 0.03})
    assert {"mean_shift_pct", "missing_rate"} <= {a["rule"] for a in strict.alerts}
    with pytest.raises(InvalidInput, match="unknown rule"):
        drift_report(ref, calm, rules={"mean_shift": 10})


def test_widget_state_holds_the_computed_values_and_sorts():
    ref, cur = _frames(shift=0.4, seed=9)
    report = drift_report(ref, cur)
    widget = report.widget()
    assert isinstance(widget, DriftWidget)
    data = report.to_dict()
    state = widget.get_state()
    json.dumps(state, allow_nan=False)
    assert state["summary"] == data["summary"]
    assert state["columns"] == data["columns"]
    assert state["alerts"] == data["alerts"]
    assert [c["column"] for c in state["columns"]] == ["age", "visits", "plan", "vip"]
    age = next(c for c in state["columns"] if c["column"] == "age")
    assert age["statistic"] == pytest.approx(report.column("age")["statistic"])
    assert sum(age["histogram"]["reference"]) == 800
    assert (
        sum(age["histogram"]["current"])
        + age["histogram"]["current_below"]
        + age["histogram"]["current_above"]
        == 900
    )
    # Sorting from the controls reorders the table.
    widget.sort_by = "column"
    widget.sort_descending = False
    table = widget.children[2].value
    positions = [table.index(f"data-column='{c}'") for c in ["age", "plan", "vip", "visits"]]
    assert positions == sorted(positions)
    # The selected feature's histogram: the Vega-Lite chart the lab's renderer draws.
    widget.selected_column = "plan"
    (output,) = widget.children[4].outputs
    assert output["output_type"] == "display_data"
    assert output["data"][VEGALITE_MIME] == histogram_spec(report.column("plan"))
    assert output["metadata"][VEGALITE_MIME]["embed_options"]["renderer"] == "svg"
    assert widget.children[5].outputs == ()  # no history: no time series
    history = [
        {"window_end": "2026-01-01T00:00:00+00:00", "drift_share": 0.25, "threshold": 0.5},
        {"window_end": "2026-01-02T00:00:00+00:00", "drift_share": 0.75, "drifted": True},
    ]
    widget.set_data({**data, "history": history})
    (series,) = widget.children[5].outputs
    assert series["data"][VEGALITE_MIME] == history_spec(history)


def test_display_degrades_to_static_html_outside_a_kernel():
    ref, cur = _frames(shift=0.4, seed=10)
    report = drift_report(ref, cur)
    bundle = report._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert "<table class='jp-mlops-drift-table'" in bundle["text/html"]
    assert "DriftReport" in bundle["text/plain"]
    report.history = [
        {"window_end": "2026-01-01T00:00:00+00:00", "drift_share": 0.25, "n_rows": 100},
        {"window_end": "2026-01-02T00:00:00+00:00", "drift_share": 0.75, "drifted": True},
    ]
    html = report._repr_html_()
    assert "<svg" not in html  # charts are data: images, which HTML sanitizers keep
    # The widget's Vega-Lite charts drawn on the server: the time series, then the drifted
    # features' histograms, each described in its alt text.
    alts = re.findall(r"<img alt='([^']*)' src='data:image/svg\+xml;base64,", html)
    drifted = [c["column"] for c in report.columns if c["drifted"]][:3]
    assert drifted and alts == [
        "Drift share over 2 checks; latest 75% drifted",
        *(f"Reference and current distributions of {c}" for c in drifted),
    ]
    images = [base64.b64decode(m).decode() for m in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]
    assert all(svg.startswith("<svg") for svg in images)
    assert ">Drift share over time</text>" in images[0]
    assert f">{drifted[0]}</text>" in images[1]


def test_progress_bar_for_large_inputs(capsys):
    ref, cur = _frames(seed=11)
    drift_report(ref, cur, progress=True)
    assert "drift" in capsys.readouterr().err
    drift_report(ref, cur)  # small: no bar by default
    assert capsys.readouterr().err == ""


def test_reference_by_model_ref_and_per_model_methods(tmp_path):
    mlops = MLOps(root_dir=str(tmp_path))
    X, y = load_wine(return_X_y=True, as_frame=True)
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    mlops.registry.register(model, "wine", X_sample=X, y_sample=y)
    mlops.registry.register(
        model, "wine", X_sample=X, y_sample=y, tags={"drift_methods": '{"alcohol": "psi"}'}
    )
    mlops.registry.set_alias("wine", "production", 1, user="test")
    shifted = X.assign(alcohol=X["alcohol"] * 1.3)
    report = mlops.drift_report("wine@production", shifted)
    assert report.summary["model"] == {"name": "wine", "version": 1}
    assert report.summary["reference_source"] == "profile"
    assert report.column("alcohol")["drifted"] and report.column("alcohol")["method"] == "ks"
    assert not report.column("ash")["drifted"]
    # v2 carries its own method choice (tag drift_methods).
    assert mlops.drift_report("wine/2", shifted).column("alcohol")["method"] == "psi"
    assert mlops_api.drift_report is not None  # public API


def test_threads_give_the_same_report():
    ref, cur = _frames(shift=0.3, seed=12)
    one = drift_report(ref, cur).to_frame()
    two = drift_report(ref, cur, workers=2).to_frame()
    pd.testing.assert_frame_equal(one, two)
