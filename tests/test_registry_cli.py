"""``jupyter mlops models …``/``jupyter mlops lineage`` and the ``%mlops`` registry magics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_utils import PROVENANCE, add_run, pipeline_model, simple_model, training_frame

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.cli import main


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path))
    yield instance
    instance.stop()


def cli(mlops, capsys, *args) -> tuple[int, str, str]:
    code = main(["--root-dir", mlops.root_dir, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_list_show_promote_rollback_audit(mlops, capsys):
    for seed, auc in enumerate((0.9, 0.8)):
        mlops.registry.register(simple_model(seed), "churn", metrics={"auc": auc}, user="ada")
    code, out, _ = cli(mlops, capsys, "models", "list")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "MODEL", "LATEST", "VERSIONS", "ALIASES", "LATEST", "METRICS", "UPDATED"
    ]  # fmt: skip
    assert out.splitlines()[1].split()[:4] == ["churn", "2", "2", "auc=0.8"]

    code, out, _ = cli(mlops, capsys, "models", "promote", "churn", "1", "production")
    assert code == 0 and "churn@production: (unset) → v1 (promoted)" in out
    code, out, _ = cli(
        mlops, capsys, "models", "gate", "churn", "--set", '{"compare": {"metric": "auc"}}'
    )
    assert code == 0 and json.loads(out)["compare"]["mode"] == "max"
    code, _, err = cli(mlops, capsys, "models", "promote", "churn", "2", "production")
    assert code == 2
    assert "error: quality gate refused churn v2 → production: auc 0.8 < 0.9 of v1" in err
    code, out, _ = cli(
        mlops, capsys, "models", "promote", "churn", "2", "production", "--force", "--reason", "ok"
    )
    assert code == 0 and "v1 → v2 (forced past the gate)" in out

    code, out, _ = cli(mlops, capsys, "models", "list", "churn")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[0] for r in rows] == ["2", "1"] and rows[0][1] == "production"

    code, out, _ = cli(mlops, capsys, "models", "show", "churn@production", "--json")
    assert code == 0 and json.loads(out)["version"] == 2
    code, out, _ = cli(mlops, capsys, "models", "show", "churn")
    assert "churn: 2 version(s), latest v2" in out and "@production → v2" in out

    code, out, _ = cli(mlops, capsys, "models", "rollback", "churn", "production")
    assert code == 0 and "churn@production: v2 → v1 (rolled back)" in out
    code, out, _ = cli(mlops, capsys, "models", "audit", "churn", "--json")
    actions = [(e["action"], e["forced"]) for e in json.loads(out)["items"]]
    assert actions[:4] == [
        ("rollback", False),
        ("set_alias", True),
        ("promotion_refused", False),
        ("set_gate", False),
    ]
    code, _, err = cli(mlops, capsys, "models", "archive", "churn", "1")
    assert code == 2 and "production" in err
    code, out, _ = cli(mlops, capsys, "models", "archive", "churn", "2")
    assert code == 0 and "churn v2 archived" in out


def test_cli_errors_are_messages_not_tracebacks(mlops, capsys):
    code, _, err = cli(mlops, capsys, "models", "show", "ghost/1")
    assert code == 2 and err.strip() == "error: model 'ghost' not found"
    code, _, err = cli(mlops, capsys, "lineage", "churn/x")
    assert code == 2 and "must be a positive integer" in err


def test_cli_lineage_prints_the_chain(mlops, capsys):
    run_id = add_run(mlops, provenance=PROVENANCE, status="succeeded", created_by="alice")
    mlops.registry.register(simple_model(), "churn", run_id=run_id)
    mlops.registry.set_alias("churn", "production", 1)
    code, out, _ = cli(mlops, capsys, "lineage", "churn@production")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("churn v1 (@production)  sklearn.linear_model")
    assert f"  run          {run_id} (batch, succeeded, by alice)" in lines
    assert f"  notebook     train.ipynb  sha256:{'a' * 64}" in lines
    assert "  parameters   C=0.5, max_iter=200" in lines
    assert f"  inputs       data/train.csv  sha256:{'b' * 64}" in lines
    assert "  git          0123456789abcdef (main)" in lines
    assert "  environment  python 3.11.7, kernel python3, 2 packages, Linux x86_64" in lines
    code, out, _ = cli(mlops, capsys, "models", "lineage", "churn/1", "--json")
    assert json.loads(out)["git"] == PROVENANCE["git"]


@pytest.fixture
def magics(mlops, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from jupyterlab_mlops.facade import tracking
    from jupyterlab_mlops.magics import MLOpsMagics

    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.setenv("MLOPS_ROOT_DIR", mlops.root_dir)
    monkeypatch.setenv("JPY_SESSION_NAME", str(Path(mlops.root_dir) / "nb.ipynb"))
    tracking.end_interactive_run()  # start from a clean slate: a new interactive run
    created = not InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    for name in ("model", "X_train", "y_train"):
        shell.user_ns.pop(name, None)
    yield shell, MLOpsMagics(shell)
    for name in ("model", "X_train", "y_train"):
        shell.user_ns.pop(name, None)
    if created:  # leave no singleton behind for other suites (they may start their own shell)
        InteractiveShell.clear_instance()


def test_magic_register_uses_x_train_and_promote(mlops, magics, capsys):
    shell, mlops_magics = magics
    X, y = training_frame()
    shell.user_ns.update(model=pipeline_model(X, y), X_train=X, y_train=y)
    version = mlops_magics.mlops("register churn model --metric auc=0.91 --tag team=risk")
    out = capsys.readouterr().out
    assert "Registered churn v1 (sklearn.pipeline.Pipeline, 6 input column(s)" in out
    assert version["metrics"] == {"auc": 0.91} and version["tags"] == {"team": "risk"}
    assert [c["name"] for c in version["signature"]["inputs"]] == list(X.columns)
    assert version["profile"]["n_rows"] == len(X)
    assert mlops.runs.get(version["run_id"])["notebook_path"] == "nb.ipynb"

    result = mlops_magics.mlops("promote churn 1 production --reason 'first one'")
    assert result["version"] == 1
    assert "churn@production: (unset) → v1" in capsys.readouterr().out
    assert mlops.registry.audit("churn", action="set_alias")["items"][0]["reason"] == "first one"

    mlops_magics.mlops("models")
    mlops_magics.mlops("models churn")
    mlops_magics.mlops("lineage churn@production")
    assert "nb.ipynb" in capsys.readouterr().out


def test_magic_errors_are_printed(mlops, magics, capsys):
    shell, mlops_magics = magics
    assert mlops_magics.mlops("register churn model") is None
    assert "no variable named 'model' in the notebook" in capsys.readouterr().out
    shell.user_ns["model"] = simple_model()
    assert mlops_magics.mlops("register churn model")["version"] == 1  # no X_train: from model
    capsys.readouterr()
    assert mlops_magics.mlops("promote churn 5 production") is None
    assert "version 5 of model 'churn' not found" in capsys.readouterr().out
