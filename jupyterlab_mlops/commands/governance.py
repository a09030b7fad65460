"""Governance: ``whoami``, ``approvals list|approve|reject`` and ``audit export``."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from .context import Context
from .defaults import MAX_PAGE_SIZE, PAGE_SIZE, page
from .render import (
    Column,
    lines,
    metrics_text,
    more_text,
    pairs_text,
    table_html,
    table_text,
    timestamp,
)
from .spec import Command, Group, arg

GROUPS = [
    Group("approvals", "Promotions to protected aliases waiting for an approver."),
    Group("audit", "The audit log of every model."),
]

APPROVAL_COLUMNS = [
    Column("id", lambda a: a["id"]),
    Column("status", lambda a: a["status"]),
    Column("promotion", lambda a: f"{a['model']}@{a['alias']} → v{a['version']}"),
    Column(
        "gate", lambda a: "" if not a["gate"] else ("passed" if a["gate"]["passed"] else "FAILED")
    ),
    Column(
        "candidate",
        lambda a: metrics_text(((a["comparison"] or {}).get("candidate") or {}).get("metrics")),
    ),
    Column(
        "current",
        lambda a: metrics_text(((a["comparison"] or {}).get("current") or {}).get("metrics")),
    ),
    Column("requested by", lambda a: a["requested_by"]),
    Column("decided by", lambda a: a["decided_by"] or ""),
    Column("created", lambda a: timestamp(a["created_at"])),
]
AUDIT_FIELDS = (
    "id",
    "created_at",
    "user",
    "model_name",
    "action",
    "alias",
    "from_version",
    "to_version",
    "reason",
    "forced",
    "details",
)


def whoami(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.access.me(context.user)


def whoami_text(me: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return pairs_text(
        [
            ("user", me["username"]),
            ("role", me["role"]),
            ("may", ", ".join(me["permissions"])),
            ("protected aliases", ", ".join(me["protected_aliases"]) or "none"),
        ]
    )


def list_approvals(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    offset, limit = page(options.offset, options.limit)
    status = None if options.status == "all" else options.status
    return context.mlops.registry.list_approvals(
        status=status, model=options.model, offset=offset, limit=limit
    )


def list_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    if not data["items"]:
        return f"No {'' if options.status == 'all' else options.status + ' '}approval requests."
    return lines(table_text(APPROVAL_COLUMNS, data["items"]), more_text(data))


def approve(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.approve(
        options.approval_id, user=context.user, reason=options.reason, override=options.override
    )


def reject(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.reject(
        options.approval_id, user=context.user, reason=options.reason
    )


def decision_text(approval: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    promotion = f"{approval['model']}@{approval['alias']} → v{approval['version']}"
    if approval["status"] == "approved":
        return f"approved {approval['id']}: {promotion}" + (
            " (gate overridden)" if approval["overridden"] else ""
        )
    return f"rejected {approval['id']}: {promotion} ({approval['decision_reason']})"


def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"--since must be an ISO date or time (2026-03-03, 2026-03-03T09:00), got {value!r}"
        ) from None


def export_audit(context: Context, options: argparse.Namespace) -> list[dict[str, Any]]:
    """Every entry from ``--since`` on, oldest first, read page by page."""
    since = parse_since(options.since)
    registry = context.mlops.registry
    entries: list[dict[str, Any]] = []
    while True:
        batch = registry.audit_log(
            since=since, model=options.model, offset=len(entries), limit=MAX_PAGE_SIZE
        )
        entries.extend(batch["items"])
        if not batch["items"] or len(entries) >= batch["total"]:
            return entries


def export_text(entries: list[dict[str, Any]], options: argparse.Namespace, context: Context):
    if options.format == "jsonl":
        text = "".join(json.dumps(e, sort_keys=True, default=str) + "\n" for e in entries)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=AUDIT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for entry in entries:
            writer.writerow({**entry, "details": json.dumps(entry["details"], sort_keys=True)})
        text = buffer.getvalue()
    if options.output:
        with open(options.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        return f"{len(entries)} audit entries written to {options.output}"
    return text.rstrip("\n")


REASON = arg("--reason", default="", help="Why (recorded in the audit log).")

COMMANDS = [
    Command(
        "whoami",
        "Who you act as here, your role and what it permits.",
        whoami,
        text=whoami_text,
        magic="whoami",
        magic_help="Your username, role and permissions.",
    ),
    Command(
        "approvals list",
        "Promotion requests to protected aliases (pending ones by default).",
        list_approvals,
        (
            arg(
                "--status",
                default="pending",
                choices=("pending", "approved", "rejected", "stale", "all"),
            ),
            arg("--model", help="Only this model's requests."),
            arg("--offset", type=int, default=0),
            arg("--limit", type=int, default=PAGE_SIZE),
        ),
        text=list_text,
        notebook=lambda data, options, context: table_html(
            APPROVAL_COLUMNS, data["items"], "jp-mlops-approvals"
        ),
        magic="approvals",
        magic_help="Pending promotion requests.",
    ),
    Command(
        "approvals approve",
        "Approve a pending promotion: the alias moves (never your own request).",
        approve,
        (
            arg("approval_id", metavar="ID"),
            REASON,
            arg(
                "--override",
                action="store_true",
                help="Approve although the quality gate failed (needs --reason).",
            ),
        ),
        text=decision_text,
    ),
    Command(
        "approvals reject",
        "Reject a pending promotion (needs --reason).",
        reject,
        (arg("approval_id", metavar="ID"), REASON),
        text=decision_text,
    ),
    Command(
        "audit export",
        "Export the audit log (who moved which alias when, requests, approvals, reasons).",
        export_audit,
        (
            arg("--since", help="ISO date or time (UTC unless it says): entries from then on."),
            arg("--model", help="Only this model's entries."),
            arg("--format", default="csv", choices=("csv", "jsonl")),
            arg("--output", "-o", help="Write to this file instead of standard output."),
        ),
        text=export_text,
    ),
]
