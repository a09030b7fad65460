"""A loaded model version ready to serve: validator, one vectorised predict per batch.

``predict_batch`` runs in the batcher's thread: it builds ONE model input for all requests of a
batch, calls the model once, and slices the outputs back per request. If the model rejects the
batch (e.g. an unknown category), each request is retried alone so that only the bad one fails.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .validation import DEFAULT_MAX_STRING_LENGTH, InputValidator, Prepared


class ModelInputError(Exception):
    """The model itself refused a request's rows (422 for that request only)."""


@dataclass
class Output:
    predictions: np.ndarray
    probabilities: np.ndarray | None
    predict_seconds: float  # the model call that produced these rows (shared by the batch)
    batch_rows: int


# Estimators whose predict() is exactly classes_[argmax(predict_proba())]: for these one
# predict_proba call gives both outputs (half the cost of calling both).
_ARGMAX_EXACT = {
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
}


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    if steps:
        return _final_estimator(steps[-1][1])
    return model


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class ServedModel:
    """One model version loaded from a bundle (the champion or the challenger)."""

    def __init__(
        self,
        model: Any,
        metadata: dict,
        *,
        extra_columns: str = "ignore",
        bundle_dir: str = "",
        unknown_categories: str | dict[str, str] = "accept",
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
    ):
        self.model = model
        self.metadata = metadata
        self.bundle_dir = bundle_dir
        self.batcher: Any = None  # the app attaches a MicroBatcher and metric children
        self.instruments: dict[str, Any] = {}
        self.name = str(metadata.get("name", "model"))
        self.version = metadata.get("version")
        self.version_label = str(self.version)
        self.signature = metadata.get("signature") or {}
        self.validator = InputValidator(
            self.signature,
            extra_columns=extra_columns,
            unknown_categories=unknown_categories,
            max_string_length=max_string_length,
        )
        final = _final_estimator(model)
        self.has_proba = hasattr(model, "predict_proba") and hasattr(final, "classes_")
        self.classes = final.classes_ if self.has_proba else None
        multi_output = self.classes is not None and isinstance(self.classes, list)
        if multi_output:  # multi-output classifiers: predict_proba returns a list
            self.has_proba = False
            self.classes = None
        self.proba_only = self.has_proba and _qualname(final) in _ARGMAX_EXACT
        self.task = (self.signature.get("output") or {}).get(
            "task", "classification" if self.has_proba else "regression"
        )

    @classmethod
    def from_bundle(cls, bundle_dir: str, *, trust: bool = False, **validation: Any) -> ServedModel:
        """``validation``: the :class:`InputValidator` policies (extra columns, categories…)."""
        from .bundle import load_bundle

        model, metadata = load_bundle(bundle_dir, trust=trust)
        return cls(model, metadata, bundle_dir=str(bundle_dir), **validation)

    @classmethod
    def start_loading(
        cls, bundles: list[str], *, trust: bool = False, **validation: Any
    ) -> Future[list[ServedModel]]:
        """Verify the bundles now (a missing or corrupt one raises here, before the server
        starts), deserialise them in a thread while the caller imports and starts the server."""
        from .bundle import deserialize, read_verified

        verified = [(bundle, *read_verified(bundle)) for bundle in bundles]

        def load() -> list[ServedModel]:
            return [
                cls(deserialize(data, meta, trust=trust), meta, bundle_dir=bundle, **validation)
                for bundle, data, meta in verified
            ]

        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-bundle")
        future = executor.submit(load)
        executor.shutdown(wait=False)
        return future

    # -- prediction (runs in a worker thread) -------------------------------------------------

    def _call(self, frame: Any) -> tuple[np.ndarray, np.ndarray | None]:
        if self.proba_only:
            probabilities = np.asarray(self.model.predict_proba(frame))
            predictions = self.classes.take(probabilities.argmax(axis=1))
            return predictions, probabilities
        predictions = np.asarray(self.model.predict(frame))
        probabilities = None
        if self.has_proba:
            probabilities = np.asarray(self.model.predict_proba(frame))
        return predictions, probabilities

    def predict_batch(self, batch: list[Prepared]) -> list[Output | Exception]:
        """Outputs per request, in order; a request the model refuses gets its own error."""
        try:
            frame = self.validator.model_input(batch)
            start = time.perf_counter()
            predictions, probabilities = self._call(frame)
            seconds = time.perf_counter() - start
        except Exception as err:  # noqa: BLE001 - the model's own error, reported per request
            if len(batch) == 1:
                return [ModelInputError(_model_message(err))]
            results: list[Output | Exception] = []
            for prepared in batch:
                results.extend(self.predict_batch([prepared]))
            return results
        rows = sum(p.n_rows for p in batch)
        if len(predictions) != rows:
            return [
                ModelInputError(
                    f"the model returned {len(predictions)} predictions for {rows} rows"
                )
            ] * len(batch)
        outputs: list[Output | Exception] = []
        offset = 0
        for prepared in batch:
            end = offset + prepared.n_rows
            outputs.append(
                Output(
                    predictions[offset:end],
                    None if probabilities is None else probabilities[offset:end],
                    seconds,
                    rows,
                )
            )
            offset = end
        return outputs

    def warm_up(self) -> bool:
        """Predict one synthetic row so the first real request does not pay for lazy imports
        (pandas) and first-call set-up; failures are ignored (the row may be implausible)."""
        row: dict[str, Any] = {}
        for spec in self.validator.inputs:
            kind = spec.get("kind", "numeric")
            if kind == "numeric":
                row[spec["name"]] = 0.0
            elif kind == "boolean":
                row[spec["name"]] = False
            else:
                categories = spec.get("categories") or []
                row[spec["name"]] = categories[0] if categories else None
        if not row:
            return False
        try:
            prepared = self.validator.prepare({"records": [row]})
            return not isinstance(self.predict_batch([prepared])[0], Exception)
        except Exception:  # noqa: BLE001 - a warm-up must never stop the server
            return False

    def describe(self) -> dict:
        meta = self.metadata
        lineage = meta.get("lineage") or {}
        return {
            "name": self.name,
            "version": self.version,
            "artifact_sha256": meta.get("artifact_sha256"),
            "serialization": meta.get("serialization"),
            "model_class": meta.get("model_class") or _qualname(self.model),
            "signature": self.signature,
            "metrics": meta.get("metrics") or {},
            "lineage": {
                "run_id": lineage.get("run_id", meta.get("run_id")),
                "notebook_path": lineage.get("notebook_path"),
                "notebook_sha256": lineage.get("notebook_sha256"),
                "git_commit": lineage.get("git_commit"),
            },
            "classes": None if self.classes is None else self.classes.tolist(),
            "task": self.task,
        }


def _model_message(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"the model could not predict these rows: {text[:500]}"
