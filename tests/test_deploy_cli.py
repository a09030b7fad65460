"""``jupyter mlops deploy|build|deployments`` and the ``%mlops deploy|predict|deployments`` magics,
against a real store and a real serving process."""

from __future__ import annotations

import json

import pytest
from deploy_support import register_models, stopping_all
from IPython.core.interactiveshell import InteractiveShell

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.cli import main


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(tmp_path))
    monkeypatch.setenv("MLOPS_DEPLOYMENT_POLL_INTERVAL", "0")
    monkeypatch.chdir(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path))
    with stopping_all(mlops):
        yield tmp_path, mlops, register_models(mlops)
    mlops.stop()


def test_cli_deploy_list_logs_sync_stop_and_build_context(root, capsys):
    tmp_path, mlops, trained = root
    assert main(["--root-dir", str(tmp_path), "deploy", "churn@production", "--json"]) == 0
    deployment = json.loads(capsys.readouterr().out)
    assert deployment["status"] == "running" and deployment["version"] == 1

    assert main(["--root-dir", str(tmp_path), "deployments", "list"]) == 0
    table = capsys.readouterr().out
    assert deployment["id"] in table and deployment["url"] in table and "RUNNING" not in table

    assert main(["--root-dir", str(tmp_path), "deployments", "logs", deployment["id"]]) == 0
    assert "Uvicorn running" in capsys.readouterr().out

    # An alias moved from the CLI reaches the deployment with `deployments sync`.
    mlops.registry.set_alias("churn", "production", 2, user="cli")
    assert main(["--root-dir", str(tmp_path), "deployments", "sync"]) == 0
    assert "from v1 to v2" in capsys.readouterr().out

    # The magics, in a real IPython shell, find the deployment and call it with a DataFrame.
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyterlab_mlops")
        shell.user_ns["df"] = trained["X"].head(12)
        result = shell.run_line_magic("mlops", "predict churn@production df")
        assert (
            result["prediction"].tolist()
            == trained["models"][2].predict(trained["X"].head(12)).tolist()
        )
        assert list(result.columns) == ["prediction", "p(0)", "p(1)", "prediction_id"]
        capsys.readouterr()
        shell.run_line_magic("mlops", "predict ghost df")
        assert "no running deployment of 'ghost'" in capsys.readouterr().out
        shell.run_line_magic("mlops", "deploy churn/1 --target ec2")
        assert "invalid choice: 'ec2'" in capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()

    assert main(["--root-dir", str(tmp_path), "deployments", "stop", deployment["id"]]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["--root-dir", str(tmp_path), "deployments", "stop", "nope"]) == 2
    assert "no deployment with id 'nope'" in capsys.readouterr().err

    context = tmp_path / "ctx"
    code = main(
        [
            "--root-dir",
            str(tmp_path),
            "build",
            "churn/2",
            "--context",
            str(context),
            "--context-only",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"docker build -t mlops-churn:2 {context}" in out
    assert (context / "Dockerfile").is_file() and (context / "bundle" / "model.skops").is_file()
    with pytest.raises(SystemExit) as exit_:
        main(["--root-dir", str(tmp_path), "deploy", "churn/1", "--target", "ec2"])
    assert exit_.value.code == 2 and "invalid choice: 'ec2'" in capsys.readouterr().err


def test_the_deploy_target_comes_from_the_configuration(tmp_path, monkeypatch, capsys):
    """Neither the CLI nor the magic picks a target: c.MLOps.default_deploy_target does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # manifests only
    (tmp_path / "jupyter_mlops_config.json").write_text(
        json.dumps({"MLOps": {"default_deploy_target": "kubernetes"}})
    )
    mlops = MLOps(root_dir=str(tmp_path))
    register_models(mlops)
    try:
        assert main(["--root-dir", str(tmp_path), "deploy", "churn/1", "--json"]) == 0
        captured = capsys.readouterr()
        record = json.loads(captured.out)
        assert record["target"] == "kubernetes" and record["status"] == "written"
        assert "deploying churn/1 (kubernetes)" in captured.err  # the progress line, on stderr
        created = not InteractiveShell.initialized()
        shell = InteractiveShell.instance()
        try:
            shell.run_line_magic("load_ext", "jupyterlab_mlops")
            second = shell.run_line_magic("mlops", "deploy churn/2 --name second")
        finally:
            if created:
                InteractiveShell.clear_instance()
        assert second["target"] == "kubernetes" and second["name"] == "second"
        assert [d["target"] for d in mlops.deployments.find()] == ["kubernetes", "kubernetes"]
        # An explicit --target still wins.
        monkeypatch.setenv("MLOPS_DEFAULT_DEPLOY_TARGET", "docker")
        code = main(["--root-dir", str(tmp_path), "deploy", "churn/1", "--target", "kubernetes"])
        assert code == 0 and "target:  kubernetes" in capsys.readouterr().out
    finally:
        mlops.stop()
