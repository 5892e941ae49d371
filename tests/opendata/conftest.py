"""The app with the open data routes, whether or not server/app.py includes them yet."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import frictionless
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.db import Database
from server.opendata import pages
from server.opendata.package import export_to_dir, find_package
from server.opendata.resources import RESOURCES
from server.opendata.stream import raw_connection
from server.settings import Settings
from server.web import now

KEY = "0123456789abcdef" * 4


def with_open_data(app: Starlette) -> Starlette:
    if not any(getattr(route, "path", None) == "/open-data" for route in app.routes):
        app.router.routes.extend(pages.routes)
    return app


@pytest.fixture
def app(settings: Settings, db: Database) -> Starlette:
    return with_open_data(create_app(settings, db=db))


@pytest.fixture
def live_app(settings: Settings, live_db: Database) -> Starlette:
    return with_open_data(create_app(settings, db=live_db))


async def export(db: Database, name: str, out: Path) -> Path:
    async with raw_connection(db) as conn:
        ref = await find_package(conn, name)
        assert ref is not None, name
        return await export_to_dir(conn, ref, out, key=KEY, created=now())


def assert_valid(descriptor: Path) -> frictionless.Report:
    report = frictionless.validate(str(descriptor))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    return report


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n") or raw == b""
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def _same(kind: str, text: str, value: Any) -> bool:
    if text == "":
        return value in (None, "")
    if kind == "integer":
        return int(text) == value
    if kind == "number":
        return Decimal(text) == Decimal(str(value))
    if kind == "boolean":
        return text == ("true" if value else "false")
    if kind in ("array", "object", "any"):
        return bool(json.loads(text) == value)
    return text == value


def assert_jsonl_matches_csv(directory: Path) -> dict[str, list[dict[str, str]]]:
    """Each JSON Lines file holds the same rows as its CSV, keys in field order, typed."""
    tables = {}
    for resource in RESOURCES:
        rows = read_csv(directory / f"{resource.name}.csv")
        lines = (directory / f"{resource.name}.jsonl").read_text(encoding="utf-8").splitlines()
        objects = [json.loads(line) for line in lines]
        assert len(objects) == len(rows), resource.name
        for row, obj in zip(rows, objects, strict=True):
            assert list(obj) == resource.field_names
            for column in resource.columns:
                assert _same(column.type, row[column.name], obj[column.name]), (
                    resource.name,
                    column.name,
                    row[column.name],
                    obj[column.name],
                )
        tables[resource.name] = rows
    return tables
