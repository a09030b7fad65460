"""``jupyter mlops drift report|monitors|alerts|ack`` and the ``%mlops monitors|alerts|ack``
magics, on real CSV/Parquet files, a model registered through the service in a real store, and a
real local deployment whose monitor raised alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deploy_support import stopping_all
from drift_support import (
    KEY_FEATURES,
    MODEL,
    NO_MONITOR,
    dataset,
    drifted,
    logged,
    predict,
    register_champion,
    wait_for,
)
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.cli import main


def cli(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--root-dir", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0, monitor_interval=0.0)
    with stopping_all(mlops):
        data = dataset()
        register_champion(mlops, data)
        current = drifted(data["X_test"])
        data["X_train"].to_csv(tmp_path / "reference.csv", index=False)
        current.to_csv(tmp_path / "current.csv", index=False)
        current.to_parquet(tmp_path / "current.parquet", index=False)
        yield {"mlops": mlops, "root": tmp_path, "current": current, **data}
    mlops.stop()


def test_report_against_the_model_profile_as_text_json_and_html(store, capsys):
    root, mlops = store["root"], store["mlops"]
    expected = mlops.drift_report(f"{MODEL}@production", store["current"])
    assert {"mean radius", "mean texture"} & set(expected.drifted_columns)

    code, out, _ = cli(root, capsys, "drift", "report", f"{MODEL}@production", "current.csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"Drift report — {MODEL} v1: {expected.summary['n_drifted']} of "
        f"{expected.summary['n_columns']} columns drifted "
        f"(share {expected.drift_share:.0%})"
        + ("; dataset drift" if expected.summary["dataset_drift"] else "")
    )
    assert lines[1] == (
        f"  reference: {MODEL}@production ({len(store['X_train'])} rows); "
        f"current: current.csv ({len(store['current'])} rows)"
    )
    assert lines[2].split()[:4] == ["COLUMN", "KIND", "METHOD", "STATISTIC"]
    radius = next(line for line in lines if line.startswith("mean radius "))
    assert radius.split()[2:4] == ["numeric", expected.column("mean radius")["method"]]
    shift = expected.column("mean radius")["mean_shift_pct"]
    assert "yes" in radius.split() and f"{shift:+.1f} %" in radius  # drifted, and by how much
    table = lines[3 : 3 + expected.summary["n_columns"]]
    drifted_rows = [row for row in table if " yes " in f" {row} "]
    assert len(drifted_rows) == expected.summary["n_drifted"]
    assert table[: len(drifted_rows)] == drifted_rows  # drifted columns first
    assert "alerts:" in lines and any("mean_shift_pct" in line for line in lines)

    # JSON: the report's own dict; the Parquet file gives the same numbers as the CSV.
    code, out, _ = cli(
        root, capsys, "drift", "report", f"{MODEL}@production", "current.csv", "--json"
    )
    assert code == 0
    from_csv = json.loads(out)
    assert from_csv["summary"]["drifted_columns"] == expected.drifted_columns
    assert from_csv["summary"]["n_current_rows"] == len(store["current"])
    assert from_csv["summary"]["model"] == {"name": MODEL, "version": 1}
    code, out, _ = cli(root, capsys, "drift", "report", f"{MODEL}/1", "current.parquet", "--json")
    assert code == 0
    from_parquet = json.loads(out)
    for a, b in zip(from_csv["columns"], from_parquet["columns"], strict=True):
        assert (a["column"], a["drifted"]) == (b["column"], b["drifted"])
        assert a["statistic"] == pytest.approx(b["statistic"])

    # --html: the drift widget's static page, written to a file (its folder created).
    code, out, _ = cli(
        root, capsys, "drift", "report", f"{MODEL}@production", "current.parquet", "--html",
        "reports/drift.html",
    )  # fmt: skip
    assert code == 0 and "HTML report written to reports/drift.html" in out
    page = (root / "reports" / "drift.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert f"<title>Drift report — {MODEL} v1</title>" in page
    assert "<table class='jp-mlops-drift-table'" in page and "mean radius" in page


def test_report_between_two_files_with_chosen_methods(store, capsys):
    root = store["root"]
    code, out, _ = cli(
        root, capsys, "drift", "report", "reference.csv", "current.parquet", "--json",
        "--methods", "mean radius=psi,mean texture=wasserstein",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    methods = {c["column"]: c["method"] for c in report["columns"]}
    assert methods["mean radius"] == "psi" and methods["mean texture"] == "wasserstein"
    assert methods["worst area"] == "ks"  # the default for the others
    assert report["summary"]["n_reference_rows"] == len(store["X_train"])
    assert report["summary"]["model"] is None

    code, out, _ = cli(root, capsys, "drift", "report", "reference.csv", "current.csv", "--json",
                       "--methods", "psi")  # fmt: skip
    assert code == 0
    assert {c["method"] for c in json.loads(out)["columns"]} == {"psi"}


@pytest.mark.parametrize(
    "args, message",
    [
        ([f"{MODEL}@production", "missing.csv"], "CUR: no such file 'missing.csv'"),
        (
            [f"{MODEL}@production", "notes.txt"],
            "CUR: 'notes.txt' is not a .csv, .tsv, .parquet or .pq file",
        ),
        ([f"{MODEL}@production", "broken.parquet"], "CUR: cannot read 'broken.parquet'"),
        (
            [f"{MODEL}@production", f"{MODEL}@staging"],
            f"CUR must be a .csv, .tsv, .parquet or .pq file, got '{MODEL}@staging'",
        ),
        (
            [f"{MODEL}@production", "current.csv", "--methods", "mean radius=nope"],
            "unknown drift method 'nope'",
        ),
        (
            [f"{MODEL}@production", "current.csv", "--methods", "colour=psi"],
            "methods name column 'colour', which the reference does not have",
        ),
        ([f"{MODEL}@production", "current.csv", "--methods", "=psi"], "column=method"),
        (["ghost@production", "current.csv"], "ghost"),
        (["missing.parquet", "current.csv"], "REF: no such file 'missing.parquet'"),
    ],
)
def test_report_refusals_exit_two_and_write_nothing(store, capsys, args, message):
    root = store["root"]
    (root / "notes.txt").write_text("not a table")
    (root / "broken.parquet").write_bytes(b"PAR1 not really")
    code, out, err = cli(root, capsys, "drift", "report", *args, "--html", "out.html")
    assert code == 2, err
    assert err.startswith("error: ") and message in err and out == ""
    assert not (root / "out.html").exists()


def test_report_output_options_exclude_each_other(store, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["drift", "report", f"{MODEL}@production", "current.csv", "--json", "--html", "x"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.fixture
def alerted(store, monkeypatch):
    """A running deployment of the champion, drifted traffic, a monitor whose check alerted."""
    mlops = store["mlops"]
    deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
    predict(deployment["url"], drifted(store["X_test"].iloc[:200]))
    wait_for(lambda: logged(deployment["prediction_log"], 200))
    monitor = mlops.monitors.create(
        deployment["name"],
        config={
            "window": {"last_n": 200},
            "min_rows": 50,
            "rules": {"features": KEY_FEATURES, "drift_share": None},
        },
        user="alice",
    )
    check = mlops.monitors.check(monitor["id"])
    assert check["status"] == "alert" and len(check["alerts"]) == 2
    for key, value in mlops.child_environment().items():
        monkeypatch.setenv(key, value)  # the magics' store
    return {**store, "deployment": deployment, "monitor": monitor, "alerts": check["alerts"]}


def test_monitors_alerts_and_ack_from_the_cli(alerted, capsys):
    root, mlops, monitor = alerted["root"], alerted["mlops"], alerted["monitor"]
    deployment = alerted["deployment"]
    code, out, _ = cli(root, capsys, "drift", "monitors")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:5] == ["ID", "DEPLOYMENT", "MODEL", "STATUS", "EVERY"]
    assert row.split()[:6] == [
        monitor["id"], deployment["name"], f"{MODEL}@production", "→", "v1", "alert"
    ]  # fmt: skip
    assert row.split()[-1] == "2"  # open alerts
    code, out, _ = cli(root, capsys, "drift", "monitors", "--json")
    listed = json.loads(out)
    assert listed["total"] == 1 and listed["items"][0]["open_alerts"] == 2

    code, out, _ = cli(root, capsys, "drift", "alerts", "--open", "--json")
    assert code == 0
    opened = json.loads(out)["items"]
    assert {a["id"] for a in opened} == {a["id"] for a in alerted["alerts"]}
    assert {a["rule"] for a in opened} == {"mean_shift_pct", "missing_rate"}
    first = opened[0]

    code, out, _ = cli(root, capsys, "drift", "ack", str(first["id"]))
    assert code == 0
    assert out.strip() == (
        f"alert {first['id']} acknowledged: [{first['severity']}] {first['rule']}: "
        f"{first['message']}"
    )
    stored = mlops.monitors.get_alert(first["id"])
    assert stored["acknowledged"] is True
    assert stored["details"]["acknowledged_by"] == mlops.current_user()

    code, out, _ = cli(root, capsys, "drift", "alerts", "--open", "--json")
    assert [a["id"] for a in json.loads(out)["items"]] == [opened[1]["id"]]
    code, out, _ = cli(root, capsys, "drift", "alerts")
    rows = out.splitlines()[1:]
    states = {int(r.split()[0]): r.split()[-1] for r in rows}
    assert states == {first["id"]: "acknowledged", opened[1]["id"]: "open"}

    code, _, err = cli(root, capsys, "drift", "ack", "999999")
    assert code == 2 and err.strip() == "error: no alert 999999"
    with pytest.raises(SystemExit) as exit_:
        main(["--root-dir", str(root), "drift", "ack", "first"])
    assert exit_.value.code == 2 and "invalid int value: 'first'" in capsys.readouterr().err


def test_monitors_alerts_and_ack_from_the_magics(alerted):
    mlops, monitor, alerts = alerted["mlops"], alerted["monitor"], alerted["alerts"]
    created = not InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyterlab_mlops")
        with capture_output() as captured:
            shell.run_line_magic("mlops", "monitors")
        html = captured.outputs[0].data["text/html"]
        assert "<table class='jp-mlops-monitors'>" in html and monitor["id"] in html
        with capture_output() as captured:
            shell.run_line_magic("mlops", "alerts --open")
        html = captured.outputs[0].data["text/html"]
        assert all(f"<td>{a['id']}</td>" in html for a in alerts)
        acked = shell.run_line_magic("mlops", f"ack {alerts[0]['id']}")
        assert acked["id"] == alerts[0]["id"] and acked["acknowledged"] is True
        assert mlops.monitors.get(monitor["id"])["open_alerts"] == 1
        with capture_output() as captured:
            assert shell.run_line_magic("mlops", "ack 999999") is None
        assert "%mlops ack: no alert 999999" in captured.stdout
        # The drift widget's data can come from files as well as from notebook variables.
        with capture_output() as captured:
            shell.run_line_magic("mlops", "drift --reference reference.csv --current current.csv")
        assert "<table class='jp-mlops-drift-table'" in captured.outputs[0].data["text/html"]
    finally:
        if created:  # clear only a shell this test started
            InteractiveShell.clear_instance()
