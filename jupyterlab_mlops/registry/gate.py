"""Quality gate: metric thresholds and champion/challenger comparison for promotions.

Gate format (``RegisteredModel.gate``, parsed by :class:`~.schemas.GateConfig`)::

    {"thresholds": {"auc": {">=": 0.8}, "log_loss": {"<=": 0.4}},
     "compare": {"alias": "production", "metric": "auc", "mode": "max", "min_delta": 0.0},
     "aliases": ["production"]}

``aliases`` limits the gate to promotions to those aliases (absent: every alias). ``compare``
requires the candidate to be at least as good as the version currently holding ``alias``
(default: the alias being set) on ``metric``; ``mode`` says whether bigger (max) or smaller
(min) is better, ``min_delta`` how much better it must be.

This module reads and writes a model's gate (every change audited) and evaluates a candidate
against it; ``aliases.py`` applies the decision when an alias is set.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..schemas import parse
from ..store import audit
from ..store.models import utcnow
from .records import find_model
from .schemas import GateConfig

OPERATORS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


def normalize_gate(gate: Any) -> dict[str, Any]:
    """Validate a gate definition (400 naming the problem) and return its canonical form."""
    if isinstance(gate, GateConfig):
        return gate.stored()
    return parse(GateConfig, gate).stored()


def read_gate(session: Session, name: str) -> dict[str, Any]:
    return dict(find_model(session, name).gate or {})


def write_gate(
    session: Session, name: str, gate: Any, *, user: str = "", reason: str = ""
) -> dict[str, Any]:
    """Replace the model's gate (``None``/``{}`` removes it), audited with the previous one."""
    clean = normalize_gate(gate)
    model = find_model(session, name)
    previous = dict(model.gate or {})
    model.gate = clean
    model.updated_at = utcnow()
    audit.record(
        session,
        model_name=name,
        action="set_gate",
        user=user,
        reason=reason,
        details={"gate": clean, "previous": previous},
    )
    return clean


@dataclass
class GateResult:
    applies: bool
    passed: bool
    checks: list[dict[str, Any]] = field(default_factory=list)

    def failures(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["passed"]]

    def message(self, name: str, version: int, alias: str) -> str:
        lines = [c["message"] for c in self.failures()]
        return (
            f"quality gate refused {name} v{version} → {alias}: "
            + "; ".join(lines)
            + ". Fix the model, or force the promotion with a reason."
        )

    def to_dict(self) -> dict[str, Any]:
        return {"applies": self.applies, "passed": self.passed, "checks": self.checks}


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.6g}"


def _metric(metrics: dict[str, Any], key: str) -> float | None:
    value = (metrics or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def evaluate_gate(
    gate: dict[str, Any],
    alias: str,
    candidate: dict[str, Any],
    holders: dict[str, dict[str, Any] | None],
) -> GateResult:
    """Check ``candidate`` (a version dict) for promotion to ``alias``.

    ``holders`` maps alias → the version dict currently holding it (or None).
    """
    if not gate or (gate.get("aliases") is not None and alias not in gate["aliases"]):
        return GateResult(applies=False, passed=True)
    checks: list[dict[str, Any]] = []
    metrics = candidate.get("metrics") or {}
    for key, rule in (gate.get("thresholds") or {}).items():
        value = _metric(metrics, key)
        for op, bound in rule.items():
            ok = value is not None and OPERATORS[op](value, bound)
            checks.append(
                {
                    "kind": "threshold",
                    "metric": key,
                    "op": op,
                    "threshold": bound,
                    "value": value,
                    "passed": ok,
                    "message": f"{key} {_fmt(value)} {'satisfies' if ok else 'fails'} "
                    f"{op} {bound:.6g}",
                }
            )
    compare = gate.get("compare")
    if compare:
        target_alias = compare.get("alias") or alias
        holder = holders.get(target_alias)
        key, mode, delta = compare["metric"], compare["mode"], compare.get("min_delta", 0.0)
        value = _metric(metrics, key)
        check: dict[str, Any] = {
            "kind": "compare",
            "metric": key,
            "mode": mode,
            "alias": target_alias,
            "value": value,
            "min_delta": delta,
        }
        if holder is None or holder["version"] == candidate["version"]:
            who = "no current holder" if holder is None else "it already holds the alias"
            check.update(
                passed=value is not None or holder is not None,
                holder_version=None if holder is None else holder["version"],
                holder_value=None,
                message=f"{key} {_fmt(value)}: {who} of {target_alias} to compare with",
            )
        else:
            incumbent = _metric(holder.get("metrics") or {}, key)
            if value is None:
                ok = False
            elif incumbent is None:
                ok = True  # the champion never recorded the metric: nothing to beat
            elif mode == "max":
                ok = value >= incumbent + delta
            else:
                ok = value <= incumbent - delta
            relation = ">=" if mode == "max" else "<="
            shown = relation if ok else {">=": "<", "<=": ">"}[relation]
            bound = "" if not delta else f" {'+' if mode == 'max' else '-'} {delta:.6g}"
            check.update(
                passed=ok,
                holder_version=holder["version"],
                holder_value=incumbent,
                message=f"{key} {_fmt(value)} {shown} {_fmt(incumbent)}{bound} of "
                f"v{holder['version']} (current {target_alias}, mode {mode})",
            )
        checks.append(check)
    return GateResult(applies=True, passed=all(c["passed"] for c in checks), checks=checks)
