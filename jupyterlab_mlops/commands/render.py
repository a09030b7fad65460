"""Presentation shared by every command: tables and key/value pairs as aligned text for a
terminal or as HTML for a notebook, JSON, and the formats of values (metrics, times, durations).

A table is described once as :class:`Column` s and rendered either way, so the CLI and the magics
show the same columns of the same records.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class Html(str):
    """Markup for a notebook cell (a plain ``str`` is printed as text)."""


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def as_json(data: Any, options: Any = None, context: Any = None) -> str:
    """The renderer of commands whose output is JSON either way."""
    return json_text(data)


# -- values ---------------------------------------------------------------------------------


def metrics_text(metrics: dict[str, Any] | None, limit: int | None = 4) -> str:
    items = list((metrics or {}).items())
    shown = items if limit is None else items[:limit]
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown)
    return text + (", …" if limit is not None and len(items) > limit else "")


def timestamp(value: str | None) -> str:
    """An ISO time to the second, for tables."""
    return (value or "")[:19].replace("T", " ")


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def number(value: float | None, fmt: str = "{:.1f}") -> str:
    return "" if value is None else fmt.format(value)


# -- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column: its header, its text from a record and, optionally, its markup in HTML."""

    header: str
    text: Callable[[Any], Any]
    html: Callable[[Any], str] | None = None
    in_text: bool = True

    def cell_text(self, item: Any) -> str:
        value = self.text(item)
        return "" if value is None else str(value)

    def cell_html(self, item: Any) -> str:
        return self.html(item) if self.html is not None else escape(self.text(item))


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table; headers in capitals."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def table_text(columns: Sequence[Column], items: Iterable[Any]) -> str:
    shown = [c for c in columns if c.in_text]
    return text_table([c.header for c in shown], ([c.cell_text(i) for c in shown] for i in items))


def table_html(columns: Sequence[Column], items: Iterable[Any], css_class: str) -> Html:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{c.cell_html(item)}</td>" for c in columns) + "</tr>"
        for item in items
    )
    return Html(f"<table class='{css_class}'><tr>{head}</tr>{body}</table>")


def more_text(page: dict[str, Any], hint: str = "use --offset/--limit for more") -> str | None:
    """The line under a page that does not show everything."""
    shown = len(page["items"])
    return f"({shown} of {page['total']}; {hint})" if page["total"] > shown else None


# -- key/value pairs --------------------------------------------------------------------------


def pairs_text(pairs: Iterable[tuple[str, Any]], *, width: int | None = None) -> str:
    """``key: value`` lines, keys right-aligned to ``width`` (default: the longest)."""
    pairs = [(k, "" if v is None else v) for k, v in pairs]
    width = width if width is not None else max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k:>{width}}: {v}" for k, v in pairs)


def pairs_html(pairs: Iterable[tuple[str, Any]], css_class: str) -> Html:
    """A two-column table; values that are :class:`Html` are kept as markup."""
    body = "".join(
        f"<tr><th style='text-align:left'>{escape(k)}</th>"
        f"<td>{v if isinstance(v, Html) else escape(v)}</td></tr>"
        for k, v in pairs
    )
    return Html(f"<table class='{css_class}'>{body}</table>")


def lines(*parts: str | None) -> str:
    """The parts that are not empty, one per line."""
    return "\n".join(p for p in parts if p)
