"""Breaking changes to the public schema must be announced in CHANGELOG.md's "API" section.

The schema built from the code is compared with the committed contract, graphql/schema.graphql —
both the working copy and, when git is at hand, the version in the last commit (so refreshing
the snapshot with `make schema` does not hide a breaking change before it is committed).
graphql-core's ``find_breaking_changes`` lists each change with a description such as
``Field Call.title was removed.``; every one must be quoted, in backticks, in the API section.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from graphql import GraphQLSchema, build_schema, find_breaking_changes

from server.api.schema import sdl
from server.settings import PROJECT_ROOT

SNAPSHOT = "graphql/schema.graphql"


def api_section(changelog: str) -> str:
    match = re.search(r"^## API\s*$(.*?)(?=^## |\Z)", changelog, flags=re.M | re.S)
    assert match, "CHANGELOG.md needs an '## API' section"
    return match.group(1)


def announced(changelog: str) -> set[str]:
    """Every backtick-quoted text in the API section (a superset of the announced changes)."""
    return set(re.findall(r"`([^`\n]+)`", api_section(changelog)))


def unannounced(old: GraphQLSchema, new: GraphQLSchema, changelog: str) -> list[str]:
    listed = announced(changelog)
    return [c.description for c in find_breaking_changes(old, new) if c.description not in listed]


def committed_contracts() -> dict[str, str]:
    contracts = {"working copy": (PROJECT_ROOT / SNAPSHOT).read_text()}
    git = shutil.which("git")
    if git is not None:
        shown = subprocess.run(
            [git, "show", f"HEAD:{SNAPSHOT}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode == 0:
            contracts["last commit"] = shown.stdout
    return contracts


def test_no_unannounced_breaking_change() -> None:
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text()
    current = build_schema(sdl())
    problems = {
        where: missing
        for where, text in committed_contracts().items()
        if (missing := unannounced(build_schema(text), current, changelog))
    }
    assert problems == {}, (
        "Breaking API changes must be listed in CHANGELOG.md's API section, each quoted in "
        f"backticks exactly as below, with what clients should do instead: {problems}"
    )


OLD = """
type Query { call(slug: String!): Call  calls: [Call!]! }
type Call { title: String!  summary: String }
"""
NEW = """
type Query { call(slug: String!): Call }
type Call { title: String  summary: String }
"""


def test_a_breaking_change_is_caught_unless_announced() -> None:
    old, new = build_schema(OLD), build_schema(NEW)
    bare = (
        "# Changelog\n\n## API\n\n- Nothing yet.\n\n"
        "## Other\n\n- `Field Query.calls was removed.`\n"
    )
    missing = unannounced(old, new, bare)
    # Quoting it in another section does not count.
    assert "Field Query.calls was removed." in missing
    assert any(m.startswith("Field Call.title changed type") for m in missing)
    listed = bare.replace(
        "- Nothing yet.",
        "- `Field Query.calls was removed.` Page through `openCalls` instead.\n"
        "- `Field Call.title changed type from String! to String.` Titles may now be missing.",
    )
    assert unannounced(old, new, listed) == []


def test_changelog_describes_its_format() -> None:
    section = api_section((PROJECT_ROOT / "CHANGELOG.md").read_text())
    assert "find_breaking_changes" in section and "backticks" in section
