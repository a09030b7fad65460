"""Parameter detection (papermill), coercion to the detected types, and rejection."""

from __future__ import annotations

import pytest
from _runs_support import write_notebook

from jupyterlab_mlops.errors import InvalidInput
from jupyterlab_mlops.runs.parameters import (
    HOW_TO_ADD,
    describe_notebook,
    parse_assignments,
    read_notebook,
    validate_parameters,
)

PARAMETERS = """\
alpha = 0.1  # learning rate
epochs = 5
name: str = "run"
debug = False
layers = [32, 16]
options = {"a": 1}
anything = None
"""


@pytest.fixture
def declared(tmp_path):
    path = write_notebook(tmp_path / "p.ipynb", ["print(alpha)"], parameters=PARAMETERS)
    return describe_notebook(read_notebook(path), "p.ipynb")


def test_detects_names_types_defaults_and_help(declared):
    assert declared["has_parameters_cell"] is True
    assert declared["parameters_cell_index"] == 1
    assert declared["kernel_name"] == "python3"
    assert declared["hint"] is None
    by_name = {p["name"]: p for p in declared["parameters"]}
    assert [p["name"] for p in declared["parameters"]] == [
        "alpha",
        "epochs",
        "name",
        "debug",
        "layers",
        "options",
        "anything",
    ]
    assert by_name["alpha"] == {
        "name": "alpha",
        "type": "float",
        "declared_type": None,
        "default": 0.1,
        "default_source": "0.1",
        "help": "learning rate",
    }
    assert {n: p["type"] for n, p in by_name.items()} == {
        "alpha": "float",
        "epochs": "int",
        "name": "str",
        "debug": "bool",
        "layers": "list",
        "options": "dict",
        "anything": "NoneType",
    }
    assert by_name["name"]["declared_type"] == "str"
    assert by_name["layers"]["default"] == [32, 16]
    assert by_name["anything"]["default"] is None


def test_notebook_without_parameters_cell_says_how_to_add_one(tmp_path):
    path = write_notebook(tmp_path / "plain.ipynb", ["print(1)"])
    info = describe_notebook(read_notebook(path), "plain.ipynb")
    assert info["has_parameters_cell"] is False
    assert info["parameters"] == []
    assert info["hint"] == HOW_TO_ADD
    assert "parameters" in HOW_TO_ADD
    with pytest.raises(InvalidInput, match="unknown parameter 'x'"):
        validate_parameters(info["parameters"], {"x": 1})
    assert validate_parameters(info["parameters"], {}) == {}


def test_json_values_are_coerced_to_the_detected_types(declared):
    params = declared["parameters"]
    assert validate_parameters(
        params,
        {
            "alpha": 1,
            "epochs": "7",
            "name": 3,
            "debug": "true",
            "layers": "[1, 2]",
            "options": {"b": 2},
            "anything": "text",
        },
    ) == {
        "alpha": 1.0,
        "epochs": 7,
        "name": "3",
        "debug": True,
        "layers": [1, 2],
        "options": {"b": 2},
        "anything": "text",
    }
    assert validate_parameters(params, {"epochs": 3.0}) == {"epochs": 3}


def test_text_values_from_cli_and_magics(declared):
    values = parse_assignments(["alpha=0.5", "anything=[1, 2]", "name=007"])
    assert validate_parameters(declared["parameters"], values, from_text=True) == {
        "alpha": 0.5,
        "anything": [1, 2],
        "name": "007",
    }
    assert parse_assignments([("epochs", "9")]) == {"epochs": "9"}
    with pytest.raises(InvalidInput, match="expected name=value"):
        parse_assignments(["alpha"])


@pytest.mark.parametrize(
    ("values", "named", "message"),
    [
        ({"alpha": "fast"}, "alpha", "expects float"),
        ({"epochs": 2.5}, "epochs", "expects int"),
        ({"epochs": True}, "epochs", "expects int"),
        ({"debug": "maybe"}, "debug", "expects bool"),
        ({"layers": {"a": 1}}, "layers", "expects list"),
        ({"options": "[1]"}, "options", "expects dict"),
        ({"name": [1]}, "name", "expects str"),
        ({"alpha": float("nan")}, "alpha", "finite"),
        ({"bogus": 1}, "bogus", "unknown parameter"),
    ],
)
def test_rejections_name_the_parameter(declared, values, named, message):
    with pytest.raises(InvalidInput) as error:
        validate_parameters(declared["parameters"], values)
    assert f"'{named}'" in error.value.message
    assert message in error.value.message
    assert error.value.details["parameter"] == named
    assert error.value.status == 400


@pytest.mark.parametrize(
    "content",
    ['{"cells": [', "not json at all", '{"nbformat": 4, "nbformat_minor": 5}', "[1, 2]"],
)
def test_malformed_notebooks_are_invalid_input(tmp_path, content):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(InvalidInput, match="bad.ipynb"):
        read_notebook(path)
