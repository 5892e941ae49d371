"""The layout rules that keep graphql-core importable and the contract folder honest."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import graphql

from server.settings import PROJECT_ROOT


def test_graphql_resolves_to_graphql_core() -> None:
    origin = Path(graphql.__file__).resolve()
    assert "site-packages" in origin.parts, f"`graphql` is shadowed by {origin}"
    assert hasattr(graphql, "GraphQLSchema")
    spec = importlib.util.find_spec("graphql")
    assert spec is not None and spec.origin is not None
    assert not Path(spec.origin).resolve().is_relative_to(PROJECT_ROOT / "graphql")


def test_graphql_folder_is_a_contract_not_a_package() -> None:
    folder = PROJECT_ROOT / "graphql"
    assert (folder / "schema.graphql").is_file()
    assert list((folder / "operations").glob("*.graphql")), "no example operations"
    python_files = [p for p in folder.rglob("*") if p.suffix in {".py", ".pyc", ".pyi"}]
    assert python_files == []


def test_no_module_named_graphql_in_our_code() -> None:
    shadows = [
        p
        for p in (PROJECT_ROOT / "server").rglob("*")
        if p.stem == "graphql" and (p.is_dir() or p.suffix == ".py")
    ]
    assert shadows == []


def test_htmx_pin_matches_vendored_copy() -> None:
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["htmx.org"]
    vendored = json.loads((PROJECT_ROOT / "web/static/vendor/htmx/VERSION.json").read_text())
    assert vendored["version"] == pinned
    assert pinned.split(".")[0] == "4"
    assert (PROJECT_ROOT / "web/static/vendor/htmx/LICENSE").read_text().strip()
