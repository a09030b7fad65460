"""``*.pipeline.yaml``: a pipeline of notebooks, validated before anything runs.

Example::

    name: churn
    parameters:            # pipeline parameters, overridable per run (-p n_rows 5000)
      n_rows: 3000
    steps:
      - name: prepare
        notebook: prepare.ipynb
        parameters: {n_rows: "${parameters.n_rows}"}
      - name: train
        notebook: train.ipynb
        depends_on: [prepare]
        parameters: {train_path: "${steps.prepare.outputs.train_path}", C: 0.5}
        retries: 1          # attempts after the first failure
        retry_backoff: 10   # seconds before a retry (doubling)
        timeout: 600
      - name: report
        notebook: report.ipynb
        depends_on: [train]
        run_if: all_done    # also when train failed (default all_success)
    notify: {on: [failed, succeeded], webhook: "https://hooks.slack.com/…"}

A step declares outputs from its notebook with ``mlops.log_output("train_path", value)``; a
downstream step reads them as ``${steps.<name>.outputs.<key>}`` (``<key>.<field>`` reaches into
a dict it logged). A parameter that is exactly one
reference takes the output's JSON value; a reference inside a longer string is formatted into it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from ..errors import InvalidInput
from ..schemas import FiniteFloat, Schema, parse
from .schemas import Notify

STEP_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
REFERENCE = re.compile(
    r"\$\{\s*(steps\.([A-Za-z][A-Za-z0-9_-]*)\.outputs\.([A-Za-z0-9_.-]+)|"
    r"parameters\.([A-Za-z_][A-Za-z0-9_]*))\s*\}"
)
SUFFIX = ".pipeline.yaml"


class StepSpec(Schema):
    name: str = Field(pattern=STEP_NAME)
    notebook: str = Field(min_length=1, max_length=1024)
    parameters: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list, max_length=100)
    retries: int = Field(0, ge=0, le=10)
    retry_backoff: FiniteFloat = Field(0.0, ge=0, le=3600)
    timeout: FiniteFloat | None = Field(None, gt=0, le=7 * 24 * 3600)
    kernel_name: str | None = Field(None, min_length=1, max_length=255)
    run_if: Literal["all_success", "all_done"] = "all_success"


class PipelineSpec(Schema):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str = Field("", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=dict)
    notify: Notify | None = None
    steps: list[StepSpec] = Field(min_length=1, max_length=200)

    @field_validator("steps")
    @classmethod
    def _distinct(cls, steps: list[StepSpec]) -> list[StepSpec]:
        seen: set[str] = set()
        for step in steps:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}")
            seen.add(step.name)
        return steps

    @model_validator(mode="after")
    def _graph(self) -> PipelineSpec:
        names = {step.name for step in self.steps}
        for step in self.steps:
            for upstream in step.depends_on:
                if upstream not in names:
                    raise ValueError(f"step {step.name!r} depends on unknown step {upstream!r}")
            for upstream, _key, parameter in references(step.parameters):
                if parameter is not None:
                    if parameter not in self.parameters:
                        raise ValueError(
                            f"step {step.name!r} uses ${{parameters.{parameter}}}, which the "
                            "pipeline does not declare"
                        )
                elif upstream not in ancestors(self, step.name):
                    raise ValueError(
                        f"step {step.name!r} uses the outputs of {upstream!r}, which is not "
                        "upstream of it (add it to depends_on)"
                    )
        order(self)  # raises on a cycle
        return self

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


def references(value: Any) -> list[tuple[str | None, str | None, str | None]]:
    """Every ``${…}`` reference in a parameter value: (step, output key, pipeline parameter)."""
    found: list[tuple[str | None, str | None, str | None]] = []
    if isinstance(value, str):
        for match in REFERENCE.finditer(value):
            found.append((match.group(2), match.group(3), match.group(4)))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def ancestors(spec: PipelineSpec, name: str) -> set[str]:
    parents = {step.name: set(step.depends_on) for step in spec.steps}
    seen: set[str] = set()
    stack = list(parents.get(name, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(parents.get(current, ()))
    return seen


def descendants(spec: PipelineSpec, names: set[str]) -> set[str]:
    children: dict[str, set[str]] = {step.name: set() for step in spec.steps}
    for step in spec.steps:
        for upstream in step.depends_on:
            children[upstream].add(step.name)
    seen: set[str] = set()
    stack = list(names)
    while stack:
        current = stack.pop()
        for child in children.get(current, ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def order(spec: PipelineSpec) -> list[str]:
    """Step names in an order that runs every step after its dependencies (Kahn)."""
    remaining = {step.name: set(step.depends_on) for step in spec.steps}
    ordered: list[str] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"the steps {sorted(remaining)} depend on each other in a cycle")
        for name in ready:
            ordered.append(name)
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return ordered


def resolve(value: Any, outputs: dict[str, dict[str, Any]], parameters: dict[str, Any]) -> Any:
    """``value`` with its references replaced by upstream outputs / pipeline parameters."""
    if isinstance(value, dict):
        return {key: resolve(item, outputs, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, outputs, parameters) for item in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> Any:
        step, key, parameter = match.group(2), match.group(3), match.group(4)
        if parameter is not None:
            return parameters[parameter]
        produced = outputs.get(step, {})
        if key in produced:
            return produced[key]
        # ``stats.rows``: a key inside a dict the step logged.
        value: Any = produced
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise InvalidInput(
                    f"step {step!r} logged no output {key!r} (it logged: "
                    f"{', '.join(sorted(produced)) or 'nothing'}); use mlops.log_output(…)"
                )
            value = value[part]
        return value

    whole = REFERENCE.fullmatch(value.strip())
    if whole:
        return lookup(whole)
    return REFERENCE.sub(lambda m: str(lookup(m)), value)


def load(path: Path, shown: str) -> PipelineSpec:
    """Read and validate a pipeline file (a 400 saying what is wrong, and where)."""
    if not shown.endswith(SUFFIX):
        raise InvalidInput(
            f"{shown!r} is not a pipeline file (its name must end with {SUFFIX})",
            details={"field": "pipeline_path"},
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InvalidInput(f"{shown} is not valid YAML: {err}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{shown} is not UTF-8 text") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{shown} must be a mapping with 'steps'")
    try:
        return parse(PipelineSpec, data)
    except InvalidInput as err:
        raise InvalidInput(f"{shown}: {err.message}", details=err.details) from None
