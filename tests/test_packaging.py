"""Packaging: one version for Python and JS, extension entry points, CLI and magics wiring."""

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import jupyterlab_mlops
from jupyterlab_mlops.errors import Forbidden, NotFound
from jupyterlab_mlops.paths import resolve_in_root
from jupyterlab_mlops.store import Database

ROOT = Path(__file__).resolve().parent.parent


def test_python_and_js_versions_match():
    package_json = json.loads((ROOT / "package.json").read_text())
    assert jupyterlab_mlops.__version__ == package_json["version"]
    assert version("jupyterlab_mlops") == package_json["version"]


def test_extension_entry_points():
    (lab,) = jupyterlab_mlops._jupyter_labextension_paths()
    assert lab == {"src": "labextension", "dest": "jupyterlab-mlops"}
    (server,) = jupyterlab_mlops._jupyter_server_extension_points()
    assert server["module"] == "jupyterlab_mlops"
    assert server["app"].name == "jupyterlab_mlops"


def test_server_config_enables_the_extension():
    config = json.loads((ROOT / "jupyter-config/server-config/jupyterlab_mlops.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"]["jupyterlab_mlops"] is True


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_mlops.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_help_lists_commands(tmp_path):
    result = _cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: jupyter mlops" in result.stdout
    assert "info" in result.stdout
    for command in ("run", "runs", "models", "lineage", "deploy", "build", "deployments", "drift"):
        assert f"    {command} " in result.stdout


def test_cli_info_reads_the_store(tmp_path):
    result = _cli("--root-dir", str(tmp_path), "info", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["store"] == f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    assert info["counts"]["runs"] == 0
    assert info["schema_revision"] == Database.head_revision()


def test_cli_unknown_command_fails(tmp_path):
    result = _cli("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_magic_registers_and_helps(tmp_path, monkeypatch, capsys):
    from IPython.testing import globalipapp

    monkeypatch.setenv("MLOPS_ROOT_DIR", str(tmp_path))
    # One global test shell per process: start it, or reuse it if another test did.
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "jupyterlab_mlops")
    assert "mlops" in shell.magics_manager.magics["line"]
    from jupyterlab_mlops.magics import help_html

    html = help_html()
    assert "%mlops info" in html
    shell.run_line_magic("mlops", "info")
    out = capsys.readouterr().out
    assert f"store: sqlite:///{tmp_path / '.mlops' / 'mlops.db'}" in out
    shell.run_line_magic("mlops", "nonsense")
    assert "unknown subcommand 'nonsense'" in capsys.readouterr().out


def test_paths_are_confined_to_the_root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "nb.ipynb").write_text("{}")
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "root" / "link.txt").symlink_to(tmp_path / "secret.txt")
    root = tmp_path / "root"
    assert resolve_in_root(root, "nb.ipynb") == (root / "nb.ipynb").resolve()
    with pytest.raises(Forbidden):
        resolve_in_root(root, "../secret.txt")
    with pytest.raises(Forbidden):
        resolve_in_root(root, str(tmp_path / "secret.txt"))
    with pytest.raises(Forbidden):
        resolve_in_root(root, "link.txt")
    with pytest.raises(NotFound):
        resolve_in_root(root, "missing.ipynb")
