"""Mastodon's domain-block CSV, read and written.

Mastodon exports (Moderation → Federation → Export) and imports one header
line, ``#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate``,
then one row per block, quoted by the ``csv`` module's rules. A Tocsin node has
no timelines, media or reports, so a row means:

- ``suspend``: a block.
- ``silence``: a block too. Silencing hides a server from timelines while
  still federating with it; a node that only publishes events and callouts
  has nothing to hide it from, and a server someone found bad enough to
  silence is one organisers are safer without.
- ``noop``: skipped (Mastodon uses it to reject only media or reports).
- A name with ``*`` (an obfuscated row, ``obfuscate=true``) is skipped: it
  hides part of the domain, so it cannot be matched to a server.

``reject_media`` and ``reject_reports`` have no meaning here and are ignored;
``public_comment`` becomes the block's public reason. A file with no header
(one domain per line, as older Mastodon versions exported) is read as
``suspend`` rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.allowlist import validate_domain
from node.i18n import gettext as _

HEADER = (
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
)
SEVERITIES = ("suspend", "silence")  # what becomes a block
MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024


class CsvError(ValueError):
    """The file cannot be read as a domain-block list; the message says why."""


@dataclass(frozen=True)
class BlockEntry:
    """One block as lists carry it between servers."""

    domain: str
    severity: str = "suspend"
    public_reason: str = ""


@dataclass
class ParsedList:
    entries: list[BlockEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: what and why


def _columns(first: list[str]) -> dict[str, int] | None:
    """Column positions from a header row, or None when the row is data."""
    names = [cell.strip().lstrip("#").lower() for cell in first]
    if "domain" not in names:
        return None
    return {name: index for index, name in enumerate(names)}


def _cell(row: list[str], columns: dict[str, int], name: str, default: str = "") -> str:
    index = columns.get(name)
    return row[index].strip() if index is not None and index < len(row) else default


def parse_csv(text: str) -> ParsedList:
    """The blocks a CSV file asks for, and the rows skipped with their reason."""
    if len(text.encode()) > MAX_BYTES:
        raise CsvError(_("the file is over %(size)s MB", size=MAX_BYTES // (1024 * 1024)))
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(row)]
    if not rows:
        raise CsvError(_("the file is empty"))
    columns = _columns(rows[0])
    if columns is None:
        columns = {"domain": 0}
    else:
        rows = rows[1:]
    if len(rows) > MAX_ROWS:
        raise CsvError(
            _(
                "the file has %(rows)s rows; at most %(limit)s are read",
                rows=len(rows),
                limit=MAX_ROWS,
            )
        )
    parsed = ParsedList()
    for row in rows:
        _read_row(row, columns, parsed)
    return parsed


def _read_row(row: list[str], columns: dict[str, int], parsed: ParsedList) -> None:
    name = _cell(row, columns, "domain")
    severity = _cell(row, columns, "severity", "suspend").lower() or "suspend"
    if "*" in name:
        parsed.skipped.append(f"{name}: obfuscated, cannot be matched to a server")
        return
    if severity not in SEVERITIES:
        parsed.skipped.append(f"{name}: severity {severity!r} is not a block here")
        return
    try:
        domain = validate_domain(name)
    except ValueError as exc:
        parsed.skipped.append(f"{name or '(empty)'}: {exc}")
        return
    reason = _cell(row, columns, "public_comment")[:500]
    parsed.entries.append(BlockEntry(domain, severity, reason))


def format_csv(entries: Iterable[BlockEntry]) -> str:
    """The blocks as Mastodon's import reads them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for entry in entries:
        writer.writerow(
            [entry.domain, entry.severity, "false", "false", entry.public_reason, "false"]
        )
    return out.getvalue()
