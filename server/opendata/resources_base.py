"""The building blocks of the open-data resources (``resources.py``): a column, a foreign key,
a resource (a SELECT with explicit columns, and its Table Schema), the placeholders' filling
(``sql_for``) and the SQL conditions that resources of several groups share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FieldType = str  # a Table Schema type: integer, number, string, boolean, datetime, date, ...


@dataclass(frozen=True, slots=True)
class Col:
    name: str
    sql: str
    type: FieldType
    description: str
    required: bool = False

    def select_sql(self) -> str:
        expr = self.sql
        if self.type == "datetime":
            expr = f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        elif self.type == "date":
            expr = f"to_char(({expr}), 'YYYY-MM-DD')"
        return f'{expr} AS "{self.name}"'

    def csv_sql(self) -> str:
        ref = f't."{self.name}"'
        if self.type == "boolean":
            return f"CASE WHEN {ref} THEN 'true' WHEN NOT {ref} THEN 'false' END AS \"{self.name}\""
        return ref

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
        }
        if self.required:
            out["constraints"] = {"required": True}
        return out


@dataclass(frozen=True, slots=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    reference: tuple[str, ...] = ("id",)


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    title: str
    description: str
    columns: tuple[Col, ...]
    from_sql: str  # FROM ... [WHERE ...] [GROUP BY ...], with $CALL and $KEY placeholders
    primary_key: tuple[str, ...] = ("id",)
    foreign_keys: tuple[ForeignKey, ...] = field(default=())
    order_by: tuple[str, ...] = ()  # default: the primary key

    @property
    def field_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [c.descriptor() for c in self.columns],
            "missingValues": [""],
            "primaryKey": list(self.primary_key),
        }
        if self.foreign_keys:
            schema["foreignKeys"] = [
                {
                    "fields": list(fk.fields),
                    "reference": {"resource": fk.resource, "fields": list(fk.reference)},
                }
                for fk in self.foreign_keys
            ]
        return schema

    def inner_sql(self, *, call_id: int | None, key: str) -> str:
        select = ",\n  ".join(c.select_sql() for c in self.columns)
        return sql_for(f"SELECT\n  {select}\n{self.from_sql}", call_id=call_id, key=key)

    def order_sql(self) -> str:
        return ", ".join(f't."{name}"' for name in self.order_by or self.primary_key)

    def csv_sql(self, *, call_id: int | None, key: str) -> str:
        """The rows as COPY ... CSV should write them (booleans as true/false)."""
        cols = ", ".join(c.csv_sql() for c in self.columns)
        inner = self.inner_sql(call_id=call_id, key=key)
        return f"SELECT {cols} FROM (\n{inner}\n) AS t ORDER BY {self.order_sql()}"  # noqa: S608

    def jsonl_sql(self, *, call_id: int | None, key: str) -> str:
        """One JSON object per row, keys in column order (``to_json`` keeps them; jsonb would
        not), nested JSON for JSON columns and native numbers and booleans."""
        inner = self.inner_sql(call_id=call_id, key=key)
        return f"SELECT to_json(t)::text FROM (\n{inner}\n) AS t ORDER BY {self.order_sql()}"  # noqa: S608

    def preview_sql(self, *, call_id: int | None, key: str, limit: int) -> str:
        cols = ", ".join(f'"{c.name}"::text' for c in self.columns)
        csv = self.csv_sql(call_id=call_id, key=key)
        return f"SELECT {cols} FROM (\n{csv}\n) AS p LIMIT {int(limit)}"  # noqa: S608


_HEX = re.compile(r"^[0-9a-f]{16,128}$")


def sql_for(template: str, *, call_id: int | None, key: str) -> str:
    """Fill the placeholders with literals: an int (or NULL) and a hex string, nothing else."""
    if not _HEX.match(key):
        raise ValueError("the anonymisation key must be lower-case hex")
    call = "NULL::int" if call_id is None else f"{int(call_id)}::int"
    return template.replace("$CALL", call).replace("$KEY", f"'{key}'::text")


def public_idea(alias: str) -> str:
    return f"{alias}.published_at IS NOT NULL AND {alias}.hidden_at IS NULL"


def idea_link(alias: str) -> str:
    """Join condition for an optional link to an idea: kept only if that idea is exported."""
    return f"{public_idea(alias)} AND ($CALL IS NULL OR {alias}.call_id = $CALL)"


VISIBLE_COMMENT = "c.deleted_at IS NULL AND c.hidden_at IS NULL"
PUBLISHED_BALLOT = "b.status = 'published'"
PUBLIC_CAST = f"{PUBLISHED_BALLOT} AND NOT b.secret"
