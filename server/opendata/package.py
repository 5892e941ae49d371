"""The packages: which exist, their descriptors, their validators, and writing one to disk.

``platform`` holds everything public; ``call-<slug>`` the same resources filtered to one call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from server.opendata.resources import RESOURCES, SCHEMA_VERSION, Resource, sql_for
from server.opendata.stream import CsvLines, FileInfo, JsonLines, copy_out, count_bytes, write_file

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
LICENCE = {
    "name": "OGL-UK-3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "title": "Open Government Licence v3.0",
}
# RFC 4180, stated rather than left to a reader's sniffing.
CSV_DIALECT = {
    "header": True,
    "delimiter": ",",
    "lineTerminator": "\r\n",
    "quoteChar": '"',
    "doubleQuote": True,
}
PLATFORM = "platform"
CALL_PREFIX = "call-"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

PRIVACY_NOTE = (
    "Only what is public on Moot is included: no accounts, email addresses, verifications, "
    "sessions, registrations' identities, drafts or hidden content. Contributions appear under "
    "their persona's public name and a pseudonymous persona id; deleted accounts' contributions "
    'under "Former participant". Secret ballots are anonymised per ballot.'
)


def anonymisation_key(sign: Callable[[str, str], str]) -> str:
    """The key of the anonymous cast-ballot ids, derived from the site's secret (``Keys.sign``):
    the same in every export while SECRET_KEY is unchanged, and unguessable without it."""
    return sign("open-data", "cast-ballots/v1")


@dataclass(frozen=True, slots=True)
class PackageRef:
    name: str
    title: str
    description: str
    call_id: int | None = None
    keywords: tuple[str, ...] = ()
    publishers: tuple[tuple[str, str | None], ...] = ()  # (name, website)
    opens_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Version:
    etag: str  # without quotes
    last_modified: dt.datetime


@dataclass(slots=True)
class Stats:
    rows: dict[str, int] = field(default_factory=dict)
    csv_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(self.csv_bytes.values())


def _call_ref(row: asyncpg.Record) -> PackageRef:
    return PackageRef(
        name=f"{CALL_PREFIX}{row['slug']}",
        title=f"Moot open data: {row['title']}",
        description=f"{row['summary']}\n\n{PRIVACY_NOTE}",
        call_id=row["id"],
        keywords=tuple(row["tags"] or ()),
        publishers=((row["organiser"], row["website"]),),
        opens_at=row["opens_at"],
    )


CALLS_SQL = """
SELECT c.id, c.slug, c.title, c.summary, c.tags, c.opens_at, o.name AS organiser, o.website
FROM calls c JOIN organisers o ON o.id = c.organiser_id
"""


async def platform_ref(conn: asyncpg.Connection) -> PackageRef:
    organisers = await conn.fetch("SELECT name, website FROM organisers ORDER BY name, id")
    return PackageRef(
        name=PLATFORM,
        title="Moot open data: every call",
        description="Everything public on Moot: calls, ideas, comments, events, outcomes, "
        f"ballots and their results, and daily participation.\n\n{PRIVACY_NOTE}",
        publishers=tuple((r["name"], r["website"]) for r in organisers),
    )


async def find_package(conn: asyncpg.Connection, name: str) -> PackageRef | None:
    if name == PLATFORM:
        return await platform_ref(conn)
    if not name.startswith(CALL_PREFIX):
        return None
    row = await conn.fetchrow(CALLS_SQL + " WHERE c.slug = $1", name.removeprefix(CALL_PREFIX))
    return _call_ref(row) if row else None


async def list_packages(conn: asyncpg.Connection) -> list[PackageRef]:
    rows = await conn.fetch(CALLS_SQL + " ORDER BY c.opens_at DESC, c.id DESC")
    return [await platform_ref(conn), *(_call_ref(r) for r in rows)]


# What the exported rows are read from: (table, timestamp columns, how it belongs to a call).
CALL_IDEAS = "idea_id IN (SELECT id FROM ideas WHERE call_id = $CALL)"
CALL_EVENTS = "event_id IN (SELECT id FROM events WHERE call_id = $CALL)"
CALL_VENUES = f"venue_id IN (SELECT id FROM venues WHERE {CALL_EVENTS})"  # noqa: S608
CALL_BALLOTS = "ballot_id IN (SELECT id FROM ballots WHERE call_id = $CALL)"
SOURCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("regions", ("created_at",), "true"),
    ("organisers", ("created_at",), "true"),
    ("personas", ("created_at", "archived_at"), "true"),
    ("calls", ("created_at",), "id = $CALL"),
    ("phases", (), "call_id = $CALL"),
    ("ideas", ("created_at", "published_at", "updated_at", "hidden_at"), "call_id = $CALL"),
    ("comments", ("created_at", "edited_at", "deleted_at", "hidden_at"), CALL_IDEAS),
    ("endorsements", ("created_at",), CALL_IDEAS),
    ("outcomes", ("decided_at",), CALL_IDEAS),
    ("events", ("created_at",), "call_id = $CALL"),
    ("venues", ("created_at",), CALL_EVENTS),
    ("registrations", ("created_at", "cancelled_at", "checked_in_at"), CALL_EVENTS),
    ("event_sessions", ("created_at", "notes_posted_at"), CALL_VENUES),
    (
        "solutions",
        ("created_at",),
        f"session_id IN (SELECT id FROM event_sessions WHERE {CALL_VENUES})",  # noqa: S608
    ),
    ("ballots", ("created_at", "closed_at", "published_at"), "call_id = $CALL"),
    ("ballot_options", (), CALL_BALLOTS),
    ("cast_ballots", ("cast_at", "updated_at"), CALL_BALLOTS),
)


def _version_sql(call_id: int | None) -> str:
    parts = []
    for table, stamps, scope in SOURCES:
        newest = f"max(greatest({', '.join(stamps)}))" if stamps else "NULL::timestamptz"
        # xmin changes whenever a row is written, so its sum catches edits that leave every
        # timestamp alone (a renamed persona, say); the count catches deletions.
        parts.append(
            f"SELECT '{table}' AS source, count(*) AS n, "  # noqa: S608 - constants only
            f"coalesce(sum(xmin::text::bigint), 0)::text AS x, {newest} AS newest "
            f"FROM {table} WHERE $CALL IS NULL OR {scope}"
        )
    return sql_for("\nUNION ALL\n".join(parts), call_id=call_id, key="0" * 16)


async def version(conn: asyncpg.Connection, ref: PackageRef) -> Version:
    """ETag and Last-Modified of a package, from one query over the tables it is read from."""
    rows = await conn.fetch(_version_sql(ref.call_id))
    digest = hashlib.sha256(f"{SCHEMA_VERSION}\x00{ref.name}".encode())
    newest = EPOCH
    for row in rows:
        digest.update(f"\x00{row['source']}:{row['n']}:{row['x']}".encode())
        if row["newest"] is not None and row["newest"] > newest:
            newest = row["newest"]
    return Version(etag=digest.hexdigest()[:32], last_modified=newest.replace(microsecond=0))


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def descriptor(
    ref: PackageRef,
    *,
    created: dt.datetime,
    base_url: str | None = None,
    files: dict[str, FileInfo] | None = None,
) -> dict[str, Any]:
    """The Data Package (v2) descriptor. Paths are relative, so the same descriptor works beside
    the files on disk and at /open-data/<package>/datapackage.json. ``files`` (when written to
    disk) adds each file's size and SHA-256, which validation then checks."""
    source: dict[str, str] = {"title": "Moot"}
    if base_url:
        source["path"] = f"{base_url.rstrip('/')}/open-data"
    contributors: list[dict[str, Any]] = []
    for name, website in ref.publishers:
        contributor: dict[str, Any] = {"title": name, "roles": ["publisher"]}
        if website:
            contributor["path"] = website
        contributors.append(contributor)
    contributors.append({"title": "Moot participants", "roles": ["author"]})
    tables: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for resource in RESOURCES:
        tables.append(
            {
                "name": resource.name,
                "type": "table",
                "path": f"{resource.name}.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "title": resource.title,
                "description": resource.description,
                "dialect": CSV_DIALECT,
                "schema": resource.schema(),
            }
        )
        # Described as files: frictionless 5 validates JSON Lines as tables only with its
        # optional ``jsonlines`` dependency; as files their size and hash are still checked.
        lines.append(
            {
                "name": f"{resource.name}-jsonl",
                "type": "file",
                "path": f"{resource.name}.jsonl",
                "format": "jsonl",
                "mediatype": "application/jsonl",
                "encoding": "utf-8",
                "title": f"{resource.title} (JSON Lines)",
                "description": f"The rows of `{resource.name}` as JSON Lines: one object per "
                "line with the same fields and types, null where the CSV cell is empty, and "
                "JSON fields as nested JSON.",
            }
        )
    resources = tables + lines
    if files is not None:
        for entry in resources:
            info = files[entry["path"]]
            entry["bytes"] = info.bytes
            entry["hash"] = f"sha256:{info.sha256}"
    out: dict[str, Any] = {
        "$schema": PROFILE,
        "name": ref.name,
        "title": ref.title,
        "description": ref.description,
        "version": SCHEMA_VERSION,
        "created": iso(created),
        "licenses": [LICENCE],
        "sources": [source],
        "contributors": contributors,
    }
    if ref.keywords:
        out["keywords"] = list(ref.keywords)
    out["resources"] = resources
    return out


def file_query(resource: Resource, ref: PackageRef, *, jsonl: bool, key: str) -> str:
    if jsonl:
        return resource.jsonl_sql(call_id=ref.call_id, key=key)
    return resource.csv_sql(call_id=ref.call_id, key=key)


async def stats(conn: asyncpg.Connection, ref: PackageRef, *, key: str) -> Stats:
    """Rows and CSV size of each resource, by streaming the CSV (nothing is kept)."""
    out = Stats()
    for resource in RESOURCES:
        lines = CsvLines()
        query = file_query(resource, ref, jsonl=False, key=key)
        out.csv_bytes[resource.name] = await count_bytes(
            copy_out(conn, query, jsonl=False, transform=lines)
        )
        out.rows[resource.name] = lines.records - 1  # the header
    return out


async def preview(
    conn: asyncpg.Connection, ref: PackageRef, resource: Resource, *, key: str, limit: int = 10
) -> list[list[str]]:
    rows = await conn.fetch(resource.preview_sql(call_id=ref.call_id, key=key, limit=limit))
    return [["" if v is None else v for v in row.values()] for row in rows]


async def export_to_dir(
    conn: asyncpg.Connection,
    ref: PackageRef,
    out: Path,
    *,
    key: str,
    created: dt.datetime,
    base_url: str | None = None,
    on_file: Callable[[str, FileInfo], None] | None = None,
) -> Path:
    """Write every file and then datapackage.json (with sizes and hashes) into ``out``. For one
    consistent snapshot, call it inside a REPEATABLE READ transaction."""
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local directory, once
    files: dict[str, FileInfo] = {}
    for jsonl in (False, True):
        for resource in RESOURCES:
            name = f"{resource.name}.{'jsonl' if jsonl else 'csv'}"
            counter: CsvLines | JsonLines = JsonLines() if jsonl else CsvLines()
            query = file_query(resource, ref, jsonl=jsonl, key=key)
            size, sha256 = await write_file(
                copy_out(conn, query, jsonl=jsonl, transform=counter), out / name
            )
            records = counter.records - (0 if jsonl else 1)  # CSV: less the header
            files[name] = info = FileInfo(bytes=size, sha256=sha256, records=records)
            if on_file:
                on_file(name, info)
    path = out / "datapackage.json"
    body = descriptor(ref, created=created, base_url=base_url, files=files)
    part = path.with_name(path.name + ".part")
    text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    part.write_text(text, encoding="utf-8")
    part.replace(path)
    if on_file:
        data = text.encode()
        on_file(path.name, FileInfo(len(data), hashlib.sha256(data).hexdigest(), 0))
    return path


def zip_dir(directory: Path, target: Path) -> Path:
    """Zip a written package (datapackage.json at the root), atomically replacing ``target``."""
    part = target.with_name(target.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(directory / "datapackage.json", "datapackage.json")
        for item in sorted(directory.iterdir()):
            if item.name != "datapackage.json" and item.is_file():
                archive.write(item, item.name)
    part.replace(target)
    return target


FILE_COUNT = 2 * len(RESOURCES) + 1  # CSV and JSON Lines per resource, and the descriptor


async def export(
    url: str,
    name: str,
    out: Path,
    *,
    key: str,
    created: dt.datetime,
    base_url: str | None = None,
    zip_: bool = False,
    on_file: Callable[[str, FileInfo], None] | None = None,
) -> Path:
    """``moot export``: the package ``name`` from the database at ``url`` into ``out``, read in
    one REPEATABLE READ snapshot so that every file agrees with every other. With ``zip_``, one
    ``<package>.zip`` is written instead of loose files. Raises LookupError for an unknown
    package."""
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            ref = await find_package(conn, name)
            if ref is None:
                raise LookupError(name)
            if not zip_:
                return await export_to_dir(
                    conn, ref, out, key=key, created=created, base_url=base_url, on_file=on_file
                )
            out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, local
            with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
                await export_to_dir(
                    conn,
                    ref,
                    Path(tmp),
                    key=key,
                    created=created,
                    base_url=base_url,
                    on_file=on_file,
                )
                return zip_dir(Path(tmp), out / f"{ref.name}.zip")
    finally:
        await conn.close()
