"""The drift charts' Vega-Lite specs (``drift/charts.py``): the values they draw are the report's,
and vl-convert draws them without a browser."""

import re

import numpy as np
import pandas as pd
import pytest

from jupyterlab_mlops.drift import charts
from jupyterlab_mlops.facade.drift import drift_report


def _report():
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(
        {"age": rng.normal(40, 5, 600), "plan": rng.choice(["basic", "pro"], 600)}
    )
    current = pd.DataFrame(
        {
            # Below and above the reference's range, and inside it.
            "age": np.r_[rng.normal(40, 5, 300), np.full(20, 5.0), np.full(30, 90.0)],
            "plan": rng.choice(["basic", "pro", "team"], 350),
        }
    )
    return drift_report(reference, current)


def _values(spec, sample):
    return [v for v in spec["data"]["values"] if v["sample"] == sample]


def test_numeric_histogram_holds_the_reports_counts_with_bins_below_and_above_the_range():
    report = _report()
    age = report.column("age")
    hist = age["histogram"]
    assert hist["current_below"] == 20 and hist["current_above"] == 30
    spec = charts.histogram_spec(age)
    reference, current = _values(spec, "reference"), _values(spec, "current")
    assert [v["count"] for v in reference] == [0, *hist["reference"], 0]
    assert [v["count"] for v in current] == [20, *hist["current"], 30]
    assert sum(v["count"] for v in current) == 350
    assert [v["share"] for v in current] == pytest.approx([v["count"] / 350 for v in current])
    assert sum(v["share"] for v in reference) == pytest.approx(1.0)
    labels = [v["bin"] for v in reference]
    edges = hist["edges"]
    assert labels[0] == f"< {edges[0]:.3g}" and labels[-1] == f"> {edges[-1]:.3g}"
    assert labels[1] == f"{edges[0]:.3g}–{edges[1]:.3g}"
    assert spec["encoding"]["x"]["sort"] == labels  # bins in order, not alphabetical
    assert len(set(labels)) == len(labels)
    assert spec["title"]["text"] == "age"
    verdict = "drifted" if age["drifted"] else "not drifted"
    assert spec["title"]["subtitle"] == f"{verdict} (ks {age['statistic']:.4g})"
    assert spec["encoding"]["color"]["scale"]["domain"] == ["reference", "current"]


def test_categorical_histogram_and_close_edges():
    report = _report()
    plan = report.column("plan")
    spec = charts.histogram_spec(plan)
    hist = plan["histogram"]
    assert [v["bin"] for v in _values(spec, "current")] == hist["categories"]
    assert [v["count"] for v in _values(spec, "current")] == hist["current"]
    assert [v["count"] for v in _values(spec, "reference")] == hist["reference"]
    assert "team" in hist["categories"]
    # Edges that three digits cannot tell apart get more of them: no two bins share a label.
    close = {
        "column": "t",
        "histogram": {
            "type": "numeric",
            "edges": [1.0001, 1.0002, 1.0003],
            "reference": [5, 5],
            "current": [1, 9],
        },
    }
    bins = [b["bin"] for b in charts.histogram_bins(close)]
    assert bins == ["1.0001–1.0002", "1.0002–1.0003"]
    assert charts.histogram_spec({"column": "e", "histogram": None}) is None


def test_history_spec_holds_the_shares_and_the_threshold():
    history = [
        {
            "window_end": "2026-01-01T00:00:00+00:00",
            "drift_share": 0.25,
            "n_drifted": 1,
            "n_rows": 100,
            "drifted": False,
            "threshold": 0.5,
        },
        {"window_end": "2026-01-02T00:00:00+00:00", "drift_share": None, "n_rows": 3},
        {
            "window_end": "2026-01-03T00:00:00+00:00",
            "drift_share": 0.75,
            "n_drifted": 3,
            "n_rows": 120,
            "drifted": True,
            "drifted_columns": ["a", "b", "c"],
            "threshold": 0.4,
        },
    ]
    spec = charts.history_spec(history)
    values = spec["data"]["values"]
    # The window with too few rows has no share: not drawn.
    assert [v["drift_share"] for v in values] == [0.25, 0.75]
    assert [v["drifted"] for v in values] == [False, True]
    assert [v["n_rows"] for v in values] == [100, 120]
    assert values[1]["drifted_columns"] == "a, b, c"
    rule, line, points = spec["layer"]
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["y"]["datum"] == 0.4
    assert line["encoding"]["x"]["type"] == "temporal"
    assert points["encoding"]["color"]["scale"]["range"] == [
        charts.REFERENCE_COLOUR,
        charts.DRIFTED_COLOUR,
    ]
    assert spec["description"] == "Drift share over 2 checks; latest 75% drifted"
    assert charts.history_spec(history, threshold=0.6)["layer"][0]["encoding"]["y"]["datum"] == 0.6
    # Without times the checks are spaced by their order.
    untimed = charts.history_spec([{"drift_share": 0.1}, {"drift_share": 0.2}])
    assert untimed["layer"][1]["encoding"]["x"]["field"] == "check"
    assert [v["check"] for v in untimed["data"]["values"]] == [1, 2]


def test_empty_history_is_an_empty_chart():
    spec = charts.history_spec([])
    assert spec["data"]["values"] == [] and spec["description"] == "No drift checks yet"
    assert spec["layer"][0]["encoding"]["y"]["datum"] == 0.5
    assert charts.history_points([{"drift_share": None}]) == []


def test_mime_bundle_and_the_drawing_without_a_browser():
    report = _report()
    spec = charts.histogram_spec(report.column("age"))
    bundle = charts.mime_bundle(spec)
    assert bundle["data"][charts.VEGALITE_MIME] is spec
    assert bundle["metadata"] == {charts.VEGALITE_MIME: {"embed_options": charts.EMBED_OPTIONS}}
    svg = charts.to_svg(spec)
    assert svg.startswith("<svg") and ">age</text>" in svg
    # One bar per bin and sample: 12 bins (10 + below + above), twice.
    assert len(re.findall(r'role="graphics-symbol" aria-roledescription="bar"', svg)) == 24
    assert charts.REFERENCE_COLOUR in svg and charts.CURRENT_COLOUR in svg
    series = charts.to_svg(charts.history_spec([{"drift_share": 0.5, "drifted": True}]))
    assert charts.DRIFTED_COLOUR in series and ">Drift share over time</text>" in series
