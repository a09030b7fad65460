"""A notebook's parameters (papermill's ``inspect_notebook``) and checking values against them.

Papermill only knows a parameter's type when the cell annotates it (``alpha: float = 0.1``); for
plain ``alpha = 0.1`` we infer it from the default's literal. Values are coerced to that type
(``"5"`` → ``5`` for an ``int``) and anything that does not fit is refused with a message naming
the parameter, before anything is recorded.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # nbformat and papermill are imported on use: the CLI starts faster
    import nbformat

PARAMETERS_TAG = "parameters"
HOW_TO_ADD = (
    "This notebook has no cell tagged 'parameters'. To make it parameterisable, put the "
    "defaults in one code cell (e.g. `alpha = 0.1`) and add the tag 'parameters' to that cell "
    "(JupyterLab: Property Inspector → Cell Tags)."
)
# Types we know how to coerce to; anything else is passed through unchanged ("any").
KNOWN_TYPES = ("int", "float", "bool", "str", "list", "dict", "NoneType")
_TYPE_ALIASES = {
    "integer": "int",
    "string": "str",
    "boolean": "bool",
    "List": "list",
    "Dict": "dict",
    "None": "any",
    "NoneType": "NoneType",
}


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every kind of malformed file into a clear 400."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not a notebook: it is not UTF-8 text") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path.name} is a directory, not a notebook") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises NotJSONError, ValueError, KeyError, ...
        raise InvalidInput(f"{path.name} is not a valid notebook: {_first_line(err)}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidInput(f"{path.name} is not a valid notebook: it has no cells")
    for cell in nb.cells:  # papermill's inspection expects every cell to have tags
        if not isinstance(cell, dict):
            raise InvalidInput(f"{path.name} is not a valid notebook: a cell is not an object")
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.metadata.setdefault("tags", [])
    return nb


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def parameter_cell_index(nb: nbformat.NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def _infer_type(papermill_type: str, default: str) -> str:
    declared = (papermill_type or "None").strip()
    base = declared.split("[", 1)[0]
    declared = _TYPE_ALIASES.get(base, base)
    if declared in KNOWN_TYPES:
        return declared
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "any"
    name = type(value).__name__
    if name == "tuple":
        return "list"
    return name if name in KNOWN_TYPES else "any"


def _default_value(default: str) -> Any:
    """The default as a JSON value when it is a literal, else its source text."""
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return default
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return default
    if isinstance(value, float) and not math.isfinite(value):
        return default
    return value


def inspect_parameters(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """``[{name, type, default, default_source, help}]`` in the order of the parameters cell."""
    # papermill's ``inspect_notebook`` minus its path templating (which would choke on braces
    # in file names); the inference itself is papermill's.
    from papermill.exceptions import PapermillException
    from papermill.inspection import _infer_parameters

    # Notebooks written by other tools may lack kernelspec/language metadata: papermill then
    # refuses to pick a translator, so fall back to Python as papermill's CLI user would.
    metadata = nb.get("metadata", {})
    kernelspec = metadata.get("kernelspec") or {}
    kernel_name = kernelspec.get("name") or "python3"
    language = (metadata.get("language_info") or {}).get("name") or kernelspec.get("language")
    try:
        params = _infer_parameters(nb, name=kernel_name, language=language or "python")
    except (PapermillException, ValueError) as err:
        raise InvalidInput(f"cannot read the notebook's parameters: {_first_line(err)}") from None
    result = []
    for p in params:
        default_source = (p.default or "").strip()
        result.append(
            {
                "name": p.name,
                "type": _infer_type(p.inferred_type_name, default_source),
                "declared_type": None if p.inferred_type_name == "None" else p.inferred_type_name,
                "default": _default_value(default_source),
                "default_source": default_source,
                "help": (p.help or "").strip(),
            }
        )
    return result


def describe_notebook(nb: nbformat.NotebookNode, path: str) -> dict[str, Any]:
    """What the run dialog needs: parameters, kernel, and a hint when there are none."""
    index = parameter_cell_index(nb)
    kernelspec = nb.get("metadata", {}).get("kernelspec", {}) or {}
    language = (nb.get("metadata", {}).get("language_info", {}) or {}).get("name")
    return {
        "path": path,
        "has_parameters_cell": index is not None,
        "parameters_cell_index": index,
        "parameters": inspect_parameters(nb) if index is not None else [],
        "kernel_name": kernelspec.get("name"),
        "kernel_display_name": kernelspec.get("display_name"),
        "language": language or kernelspec.get("language"),
        "hint": None if index is not None else HOW_TO_ADD,
    }


# -- coercion ---------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


class _Uncoercible(Exception):
    pass


def _parse_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _Uncoercible from None


def coerce_value(value: Any, type_name: str, *, from_text: bool = False) -> Any:
    """``value`` converted to ``type_name`` or ``_Uncoercible``.

    ``from_text`` is for the CLI and magics, where every value arrives as a string: then an
    untyped parameter gets the Python/JSON literal the text spells (``"0.1"`` → ``0.1``).
    """
    if type_name == "int":
        if isinstance(value, bool):
            raise _Uncoercible
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip().replace("_", ""))
            except ValueError:
                pass
            try:
                as_float = float(value)
            except ValueError:
                raise _Uncoercible from None
            if as_float.is_integer():
                return int(as_float)
        raise _Uncoercible
    if type_name == "float":
        if isinstance(value, bool):
            raise _Uncoercible
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise _Uncoercible from None
        raise _Uncoercible
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise _Uncoercible
    if type_name == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _Uncoercible
    if type_name in ("list", "dict"):
        expected = list if type_name == "list" else dict
        if isinstance(value, str):
            value = _parse_text(value)
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, expected):
            raise _Uncoercible
        return value
    if type_name == "NoneType":  # default None: any value may replace it
        if isinstance(value, str) and from_text:
            return _literal_or_text(value)
        return value
    if isinstance(value, str) and from_text:
        return _literal_or_text(value)
    return value


def _literal_or_text(text: str) -> Any:
    try:
        value = _parse_text(text)
    except _Uncoercible:
        return text
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return text


def _check_json(name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"parameter {name!r}: the value must be JSON (numbers must be finite)",
            details={"parameter": name},
        ) from None


def validate_parameters(
    declared: list[dict[str, Any]],
    values: dict[str, Any] | None,
    *,
    from_text: bool = False,
) -> dict[str, Any]:
    """Check names against the notebook's parameters and coerce each value to its type."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidInput("parameters must be an object mapping names to values")
    by_name = {p["name"]: p for p in declared}
    resolved: dict[str, Any] = {}
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(sorted(by_name)) or "none — the notebook has no parameters cell"
            raise InvalidInput(
                f"unknown parameter {name!r} (this notebook's parameters: {known})",
                code="unknown_parameter",
                details={"parameter": name},
            )
        try:
            coerced = coerce_value(value, spec["type"], from_text=from_text)
        except _Uncoercible:
            raise InvalidInput(
                f"parameter {name!r} expects {spec['type']}, got {value!r}",
                code="invalid_parameter",
                details={"parameter": name, "expected": spec["type"]},
            ) from None
        _check_json(name, coerced)
        resolved[name] = coerced
    return resolved


def parse_assignments(items: list[str] | list[tuple[str, str]]) -> dict[str, str]:
    """``["alpha=0.1", ...]`` or ``[("alpha", "0.1"), ...]`` → ``{"alpha": "0.1"}`` (text)."""
    result: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise InvalidInput(f"expected name=value, got {item!r}")
        else:
            name, value = item
        result[name.strip()] = value
    return result


# -- summaries for lists --------------------------------------------------------------------------

#: longest string value a list shows (the detail shows the whole value)
SUMMARY_STRING_CHARS = 200
#: most items of a list or object value a list shows
SUMMARY_ITEMS = 20


def summarize(value: Any) -> tuple[Any, bool]:
    """``(value, truncated)``: ``value`` with long strings cut to :data:`SUMMARY_STRING_CHARS`
    and long lists/objects to :data:`SUMMARY_ITEMS`, each cut marked — so a list page of runs
    stays small however big one run's parameters are."""
    if isinstance(value, str):
        if len(value) <= SUMMARY_STRING_CHARS:
            return value, False
        rest = len(value) - SUMMARY_STRING_CHARS
        return f"{value[:SUMMARY_STRING_CHARS]}…[{rest} more characters]", True
    if isinstance(value, dict):
        out, cut = {}, len(value) > SUMMARY_ITEMS
        for key in list(value)[:SUMMARY_ITEMS]:
            key_text, key_cut = summarize(str(key))
            out[key_text], item_cut = summarize(value[key])
            cut = cut or key_cut or item_cut
        if len(value) > SUMMARY_ITEMS:
            out["…"] = f"[{len(value) - SUMMARY_ITEMS} more entries]"
        return out, cut
    if isinstance(value, list | tuple):
        items, cut = [], len(value) > SUMMARY_ITEMS
        for item in value[:SUMMARY_ITEMS]:
            summary, item_cut = summarize(item)
            items.append(summary)
            cut = cut or item_cut
        if len(value) > SUMMARY_ITEMS:
            items.append(f"…[{len(value) - SUMMARY_ITEMS} more items]")
        return items, cut
    return value, False
