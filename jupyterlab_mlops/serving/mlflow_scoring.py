"""MLflow's scoring protocol (``POST /invocations`` of ``mlflow models serve``), translated.

Code written against an MLflow server keeps working: JSON bodies with exactly one of
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` (and ``params``, accepted
and unused: a scikit-learn model takes none), or ``text/csv`` with a header row. Each becomes the
``/predict`` payload, so the signature's validation, batching, prediction log and metrics apply
unchanged; the answer is ``{"predictions": [...]}``, errors MLflow's ``{"error_code",
"message"}`` with 400 (``BAD_REQUEST``).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from .jsonio import dumps, parse_json
from .validation import InputValidator, PayloadError, payload_error

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CSV = "text/csv"


def decode(body: bytes, content_type: str, validator: InputValidator) -> dict:
    """A request body as the ``{"records"}`` / ``{"columns"}`` payload ``/predict`` takes."""
    media, _, options = content_type.partition(";")
    media = media.strip().lower()
    charset = next(
        (
            v.strip().strip('"').lower()
            for k, _, v in (p.partition("=") for p in options.split(";"))
            if k.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if charset not in ("utf-8", "utf8"):
        raise payload_error("the scoring server only supports UTF-8")
    if media == CSV:
        return _from_csv(body, validator)
    request = parse_json(body)
    if not isinstance(request, dict):
        raise payload_error(
            f"the body must be a JSON object with one of {', '.join(FORMATS)}; got "
            f"{type(request).__name__}"
        )
    keys = [k for k in request if k in FORMATS]
    others = [k for k in request if k not in FORMATS and k != "params"]
    if len(keys) != 1 or others:
        raise payload_error(
            f"the body must have exactly one of {', '.join(FORMATS)} (and optionally params); "
            f"got {', '.join(map(repr, request)) or 'no field'}"
        )
    key = keys[0]
    data = request[key]
    if key == "dataframe_split":
        return _from_split(data, validator)
    if key == "dataframe_records":
        return {"records": data}
    return _from_tensor_input(data, key, validator)


def _from_split(data: Any, validator: InputValidator) -> dict:
    if not isinstance(data, dict):
        raise payload_error("must be an object with 'columns' and 'data'", "dataframe_split")
    rows = data.get("data")
    names = data.get("columns", validator.names)
    if not isinstance(rows, list) or not rows:
        raise payload_error("must be a non-empty list of rows", "dataframe_split.data")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise payload_error("must be a list of column names", "dataframe_split.columns")
    bad = [i for i, row in enumerate(rows) if not isinstance(row, list) or len(row) != len(names)]
    if bad:
        raise PayloadError(
            [
                {
                    "field": "dataframe_split.data",
                    "message": f"every row must be a list of {len(names)} values (one per column)",
                    "rows": bad,
                }
            ]
        )
    return {"columns": {name: [row[j] for row in rows] for j, name in enumerate(names)}}


def _from_tensor_input(data: Any, key: str, validator: InputValidator) -> dict:
    """``instances`` / ``inputs``: rows as objects, columns as lists, or rows as lists in
    signature order."""
    if isinstance(data, dict):
        return {"columns": data}
    if not isinstance(data, list) or not data:
        raise payload_error("must be a non-empty list of rows or an object of columns", key)
    if all(isinstance(row, dict) for row in data):
        return {"records": data}
    names = validator.names
    if all(isinstance(row, list) for row in data):
        bad = [i for i, row in enumerate(data) if len(row) != len(names)]
        if bad or not names:
            raise PayloadError(
                [
                    {
                        "field": key,
                        "message": f"rows given as lists need {len(names)} values each, in "
                        f"the signature's order ({_shown(names)})",
                        "rows": bad,
                    }
                ]
            )
        return {"columns": {name: [row[j] for row in data] for j, name in enumerate(names)}}
    if len(names) == 1 and not any(isinstance(v, (list, dict)) for v in data):
        return {"columns": {names[0]: data}}
    raise payload_error(
        "must be a list of row objects, a list of row lists, or an object of columns", key
    )


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + ("…" if len(names) > 5 else "")


def _from_csv(body: bytes, validator: InputValidator) -> dict:
    """CSV text, typed by the signature (an empty field is null); what does not convert is left
    as text, so the validator names the column and the rows."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise payload_error("the CSV body is not UTF-8") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise payload_error(f"the CSV body cannot be parsed: {err}") from None
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise payload_error("the CSV body needs a header row and at least one data row")
    header, data = rows[0], rows[1:]
    bad = [i for i, row in enumerate(data) if len(row) != len(header)]
    if bad:
        raise PayloadError(
            [
                {
                    "field": None,
                    "message": f"every CSV row must have {len(header)} fields",
                    "rows": bad,
                }
            ]
        )
    rules = {
        spec["name"]: (spec.get("kind", "numeric"), rule)
        for spec, rule in zip(validator.inputs, validator.columns, strict=True)
    }
    columns = {}
    for j, name in enumerate(header):
        kind, rule = rules.get(name, ("categorical", None))
        numeric_categories = rule is not None and rule.numeric_categories
        columns[name] = [_typed(row[j], kind, numeric_categories) for row in data]
    return {"columns": columns}


def _typed(text: str, kind: str, numeric_categories: bool) -> Any:
    if text == "":
        return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if kind == "numeric" or numeric_categories:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return text
        if math.isnan(number):
            return None  # pandas reads NaN as a missing value too
        return number if math.isfinite(number) else text
    return text


def predictions_body(predictions: Any) -> bytes:
    return dumps({"predictions": predictions})


def error_body(message: str, code: str = "BAD_REQUEST") -> bytes:
    return dumps({"error_code": code, "message": message})
