"""The Open Inference Protocol (KServe V2, as Triton and Seldon MLServer speak it) over REST.

Only the translation lives here: an inference request's named tensors become the ``{"columns":
…}`` payload ``/predict`` takes (one tensor per signature column, or one ``[rows, n]`` tensor in
signature order), so validation, batching, the prediction log and the metrics are the very same;
the outputs (``predict``, ``predict_proba`` for classifiers, ``prediction_id`` on request) go back
as tensors. The binary tensor data extension (``Inference-Header-Content-Length``, what
``tritonclient`` sends by default) is read and written too. Every problem is a
:class:`~.validation.PayloadError`; the routes answer it as the protocol's ``{"error": "..."}``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from .jsonio import dumps, parse_json
from .validation import PayloadError, payload_error

HEADER_LENGTH = "inference-header-content-length"
NUMPY_TYPES = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = (*NUMPY_TYPES, "BYTES")
PREDICTION_ID = "prediction_id"


def input_datatype(spec: dict) -> str:
    """The tensor datatype of one signature column."""
    kind = spec.get("kind", "numeric")
    dtype = str(spec.get("dtype", "float64"))
    if kind == "boolean":
        return "BOOL"
    if kind == "numeric":
        return "INT64" if dtype.startswith(("int", "uint")) else "FP64"
    categories = spec.get("categories") or []
    if categories and all(isinstance(c, int) and not isinstance(c, bool) for c in categories):
        return "INT64"
    if categories and all(
        isinstance(c, (int, float)) and not isinstance(c, bool) for c in categories
    ):
        return "FP64"
    return "BYTES"


def array_datatype(array: np.ndarray) -> str:
    kind = array.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    return "BYTES"


def model_metadata(served: Any, versions: list[str]) -> dict:
    """``GET /v2/models/{name}``: inputs from the signature, outputs from the model."""
    validator = served.validator
    if validator.input_type == "ndarray" and validator.all_numeric:
        inputs = [{"name": "input-0", "datatype": "FP64", "shape": [-1, validator.n_cols]}]
    else:
        inputs = [
            {"name": spec["name"], "datatype": input_datatype(spec), "shape": [-1]}
            for spec in validator.inputs
        ]
    outputs = [{"name": "predict", "datatype": predict_datatype(served), "shape": [-1]}]
    if served.has_proba:
        outputs.append(
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(served.classes)]}
        )
    outputs.append({"name": PREDICTION_ID, "datatype": "BYTES", "shape": [-1]})
    return {
        "name": served.name,
        "versions": versions,
        "platform": str(served.metadata.get("flavour") or "sklearn"),
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"task": served.task},
    }


def predict_datatype(served: Any) -> str:
    if served.classes is not None:
        return array_datatype(np.asarray(served.classes))
    return "FP64"


# -- requests -----------------------------------------------------------------------------------


@dataclass
class InferRequest:
    """A decoded request: the ``/predict`` payload and what the answer must hold."""

    payload: dict
    id: str | None
    outputs: list[str] | None  # None: the defaults
    binary: dict[str, bool]  # output name -> answer it in the binary extension
    binary_default: bool


def decode_request(
    body: bytes, header_length: str | None, signature_names: list[str]
) -> InferRequest:
    """An inference request (JSON, or JSON + binary tensors) as a ``/predict`` payload."""
    blob = b""
    if header_length is not None:
        try:
            size = int(header_length)
        except ValueError:
            raise payload_error("Inference-Header-Content-Length must be an integer") from None
        if not 0 < size <= len(body):
            raise payload_error(
                f"Inference-Header-Content-Length {size} does not fit a body of {len(body)} bytes"
            )
        body, blob = body[:size], body[size:]
    request = parse_json(body)
    if not isinstance(request, dict):
        raise payload_error("the body must be an inference request object with 'inputs'")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise payload_error("must be a string", "id")
    parameters = _parameters(request.get("parameters"), "parameters")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise payload_error("must be a non-empty list of tensors", "inputs")
    offset = 0
    tensors: list[tuple[str, list[int], list]] = []
    for index, tensor in enumerate(inputs):
        where = f"inputs.{index}"
        name, shape, data, offset = _decode_tensor(tensor, where, blob, offset)
        tensors.append((name, shape, data))
    if offset != len(blob):
        raise payload_error(f"{len(blob) - offset} bytes of binary data belong to no input")
    names = [name for name, _, _ in tensors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise payload_error(
            f"input names must be unique; repeated: {', '.join(duplicates)}", "inputs"
        )
    requested, binary = _requested_outputs(request.get("outputs"))
    return InferRequest(
        {"columns": _columns(tensors, signature_names)},
        request_id,
        requested,
        binary,
        parameters.get("binary_data_output") is True,
    )


def _parameters(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise payload_error("must be an object", where)
    return value


def _decode_tensor(
    tensor: Any, where: str, blob: bytes, offset: int
) -> tuple[str, list[int], list, int]:
    if not isinstance(tensor, dict):
        raise payload_error("must be a tensor object (name, shape, datatype, data)", where)
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise payload_error("must be a non-empty string", f"{where}.name")
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise payload_error(f"must be one of {', '.join(DATATYPES)}", f"{where}.datatype")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise payload_error("must be a list of non-negative integers", f"{where}.shape")
    count = math.prod(shape)
    parameters = _parameters(tensor.get("parameters"), f"{where}.parameters")
    size = parameters.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise payload_error(
                "must be a non-negative integer", f"{where}.parameters.binary_data_size"
            )
        if "data" in tensor:
            raise payload_error("give 'data' or parameters.binary_data_size, not both", where)
        if offset + size > len(blob):
            raise payload_error(
                "binary_data_size runs past the end of the body", f"{where}.parameters"
            )
        data = _from_binary(blob[offset : offset + size], datatype, count, f"{where}.parameters")
        return name, shape, data, offset + size
    if "data" not in tensor:
        raise payload_error("is missing", f"{where}.data")
    data = _flatten(tensor["data"], f"{where}.data")
    if len(data) != count:
        raise payload_error(
            f"holds {len(data)} values; shape {shape} needs {count}", f"{where}.data"
        )
    return name, shape, data, offset


def _flatten(data: Any, where: str) -> list:
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(v, list) for v in data):
        return data
    flat: list = []
    stack = [iter(data)]
    depth = 0
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                depth += 1
                if depth > 32:
                    raise payload_error("nests too deeply", where)
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
            depth -= 1
    return flat


def _from_binary(raw: bytes, datatype: str, count: int, where: str) -> list:
    if datatype == "BYTES":
        values, position = [], 0
        while position < len(raw):
            if position + 4 > len(raw):
                raise payload_error("a BYTES element's length prefix is cut short", where)
            (length,) = struct.unpack_from("<I", raw, position)
            position += 4
            if position + length > len(raw):
                raise payload_error("a BYTES element runs past its binary_data_size", where)
            try:
                values.append(raw[position : position + length].decode("utf-8"))
            except UnicodeDecodeError:
                raise payload_error("BYTES elements must be UTF-8 text", where) from None
            position += length
    else:
        dtype = np.dtype(NUMPY_TYPES[datatype])
        if len(raw) != count * dtype.itemsize:
            raise payload_error(
                f"binary_data_size {len(raw)} is not {count} {datatype} values", where
            )
        values = np.frombuffer(raw, dtype=dtype).tolist()
    if len(values) != count:
        raise payload_error(f"holds {len(values)} values; the shape needs {count}", where)
    return values


def _columns(tensors: list[tuple[str, list[int], list]], names: list[str]) -> dict[str, list]:
    """Named tensors → columns; a single ``[rows, n]`` tensor is split in signature order."""
    if len(tensors) == 1:
        name, shape, data = tensors[0]
        n = len(names)
        if len(shape) == 2 and n > 1 and shape[1] == n and name not in names:
            return {column: data[j::n] for j, column in enumerate(names)}
    columns = {}
    for index, (name, shape, data) in enumerate(tensors):
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            expected = f"[rows, {len(names)}] in signature order" if names else "[rows]"
            raise payload_error(
                f"shape {shape}: send one [rows] tensor per column, or a single tensor {expected}",
                f"inputs.{index}.shape",
            )
        columns[name] = data
    return columns


def _requested_outputs(value: Any) -> tuple[list[str] | None, dict[str, bool]]:
    if value is None:
        return None, {}
    if not isinstance(value, list):
        raise payload_error("must be a list of {name, parameters}", "outputs")
    names, binary = [], {}
    for index, output in enumerate(value):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise payload_error("must be an object with a string 'name'", f"outputs.{index}")
        names.append(output["name"])
        flag = _parameters(output.get("parameters"), f"outputs.{index}.parameters").get(
            "binary_data"
        )
        if isinstance(flag, bool):
            binary[output["name"]] = flag
    return names, binary


# -- responses ----------------------------------------------------------------------------------


def available_outputs(served: Any) -> list[str]:
    return (
        ["predict", "predict_proba", PREDICTION_ID]
        if served.has_proba
        else ["predict", PREDICTION_ID]
    )


def check_outputs(served: Any, request: InferRequest) -> list[str]:
    """The outputs to answer (before the model is called: an unknown name is the client's)."""
    available = available_outputs(served)
    if request.outputs is None:
        return [n for n in available if n != PREDICTION_ID]
    unknown = [n for n in request.outputs if n not in available]
    if unknown:
        raise PayloadError(
            [
                {
                    "field": "outputs",
                    "message": f"unknown output {name!r}; this model has {', '.join(available)}",
                }
                for name in unknown
            ]
        )
    return list(dict.fromkeys(request.outputs))


def encode_response(
    served: Any,
    request: InferRequest,
    names: list[str],
    predictions: np.ndarray,
    probabilities: np.ndarray | None,
    ids: list[str],
    variant: str,
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary tensors follow it."""
    arrays = {
        "predict": np.asarray(predictions),
        "predict_proba": probabilities,
        PREDICTION_ID: np.asarray(ids, dtype=object),
    }
    outputs, blobs = [], []
    for name in names:
        array = arrays[name]
        datatype = "FP64" if name == "predict_proba" else array_datatype(array)
        if name == PREDICTION_ID:
            datatype = "BYTES"
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.binary.get(name, request.binary_default):
            raw = _to_binary(array, datatype)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            tensor["data"] = _json_data(array, datatype)
        outputs.append(tensor)
    response: dict[str, Any] = {
        "model_name": served.name,
        "model_version": served.version_label,
        "outputs": outputs,
        "parameters": {"variant": variant},
    }
    if request.id is not None:
        response["id"] = request.id
    header = dumps(response)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)


def _json_data(array: np.ndarray, datatype: str) -> list:
    flat = array.reshape(-1)
    if datatype == "BYTES":
        return [v if isinstance(v, str) else str(v) for v in flat.tolist()]
    return flat.tolist()


def _to_binary(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for value in array.reshape(-1).tolist():
            data = (value if isinstance(value, str) else str(value)).encode("utf-8")
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=NUMPY_TYPES[datatype]).tobytes()


def error_body(message: str) -> bytes:
    return dumps({"error": message})
