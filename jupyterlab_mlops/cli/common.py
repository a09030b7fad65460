"""What every command shares: the ``MLOps`` instance and output helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..app import MLOps


@dataclass
class CommandContext:
    mlops: MLOps

    @property
    def user(self) -> str:
        return self.mlops.current_user()


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain aligned text table (no extra dependency)."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
