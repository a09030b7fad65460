"""``%mlops params``, ``%mlops run`` and ``%mlops runs`` in a real IPython shell."""

from __future__ import annotations

import pytest
from _runs_support import ok_notebook, write_notebook
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(tmp_path))
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    monkeypatch.setattr(ip.display_formatter, "active_types", ["text/plain", "text/html"])
    ip.run_line_magic("load_ext", "jupyterlab_mlops")
    ok_notebook(tmp_path)
    write_notebook(tmp_path / "plain.ipynb", ["print(1)"])
    yield ip


def test_params_shows_the_table_or_how_to_add_one(shell):
    with capture_output() as captured:
        info = shell.run_line_magic("mlops", "params ok.ipynb")
    assert [p["name"] for p in info["parameters"]] == ["x", "name"]
    html = captured.outputs[0].data["text/html"]
    assert "<code>x</code>" in html and "int" in html
    with capture_output() as captured:
        shell.run_line_magic("mlops", "params plain.ipynb")
    assert "tag &#x27;parameters&#x27;" in captured.outputs[0].data["text/html"]


def test_run_shows_progress_and_links_the_output(shell, tmp_path):
    with capture_output() as captured:
        run = shell.run_line_magic("mlops", "run ok.ipynb x=5 name=magic")
    assert run["status"] == "succeeded", run
    assert run["parameters"] == {"x": 5, "name": "magic"}
    assert run["trigger"] == "magic"
    assert "cell" in captured.stderr  # tqdm.auto's bar (a widget in a kernel) counts cells
    html = captured.outputs[-1].data["text/html"]
    link = f'href="{run["output_notebook_path"]}"'
    assert link in html and "score = 10" in html
    assert (tmp_path / run["output_notebook_path"]).is_file()
    with capture_output() as captured:
        page = shell.run_line_magic("mlops", "runs --limit 5")
    assert page["total"] == 1
    assert run["id"] in captured.outputs[0].data["text/html"]


def test_bad_input_is_a_message_not_a_traceback(shell):
    with capture_output() as captured:
        result = shell.run_line_magic("mlops", "run ok.ipynb x=lots")
    assert result is None
    assert "parameter 'x' expects int" in captured.stdout
    with capture_output() as captured:
        shell.run_line_magic("mlops", "run ok.ipynb justaword")
    assert "expected name=value" in captured.stdout
