"""The demo and an awkward dataset export as valid Frictionless Data Packages."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from server import demo
from server.db import Database
from server.opendata.resources import RESOURCES
from server.settings import PROJECT_ROOT
from server.web import now
from tests.opendata import seed
from tests.opendata.conftest import assert_jsonl_matches_csv, assert_valid, export


async def _load_demo(db: Database) -> None:
    async with db.session() as s, s.begin():
        await demo.load(s, now=now())


async def test_demo_platform_and_call_packages_validate(live_db: Database, tmp_path: Path) -> None:
    await _load_demo(live_db)
    platform = await export(live_db, "platform", tmp_path / "platform")
    assert_valid(platform)
    tables = assert_jsonl_matches_csv(platform.parent)
    assert len(tables["ideas"]) == 10 and len(tables["calls"]) == 2
    assert len(tables["outcomes"]) == 5 and len(tables["venues"]) == 4
    descriptor = json.loads(platform.read_text())
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert descriptor["licenses"][0]["title"] == "Open Government Licence v3.0"
    assert [r["name"] for r in descriptor["resources"]] == [r.name for r in RESOURCES] + [
        f"{r.name}-jsonl" for r in RESOURCES
    ]
    call = await export(live_db, f"call-{demo.RIVERSIDE}", tmp_path / "call")
    assert_valid(call)
    call_tables = assert_jsonl_matches_csv(call.parent)
    assert len(call_tables["ideas"]) == 4 and len(call_tables["calls"]) == 1
    assert {r["call_id"] for r in call_tables["ideas"]} == {call_tables["calls"][0]["id"]}


async def test_http_package_is_the_exported_package(
    live_db: Database, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Everything fetched over HTTP, saved beside its datapackage.json, validates too."""
    await _load_demo(live_db)
    descriptor = await live_client.get("/open-data/platform/datapackage.json")
    assert descriptor.status_code == 200
    (tmp_path / "datapackage.json").write_bytes(descriptor.content)
    for resource in descriptor.json()["resources"]:
        response = await live_client.get(f"/open-data/platform/{resource['path']}")
        assert response.status_code == 200, resource["path"]
        (tmp_path / resource["path"]).write_bytes(response.content)
    assert_valid(tmp_path / "datapackage.json")
    exported = await export(live_db, "platform", tmp_path / "disk")
    for resource in RESOURCES:
        for ext in ("csv", "jsonl"):
            name = f"{resource.name}.{ext}"
            assert (tmp_path / name).read_bytes() == (exported.parent / name).read_bytes(), name


async def test_awkward_content_validates_and_round_trips(live_db: Database, tmp_path: Path) -> None:
    async with live_db.session() as s, s.begin():
        seeded = await seed.awkward(s)
        voters = []
        for i in range(5):
            account, persona = await seed.resident(s, f"Voter {i}, “curly” ŵ", person=True)
            assert account.person_id is not None
            voters.append((persona, account.person_id))
        await seed.cast(s, seeded, voters)
    for name in ("platform", "call-awkward"):
        path = await export(live_db, name, tmp_path / name)
        assert_valid(path)
        tables = assert_jsonl_matches_csv(path.parent)
        call = tables["calls"][0]
        assert call["title"] == seed.AWKWARD[:200] and call["summary"] == seed.AWKWARD
        assert json.loads(call["tags"]) == ["a, b", 'quote "q"', seed.WELSH, "🎉"]
        main = next(i for i in tables["ideas"] if i["id"] == str(seeded.ideas["main"].id))
        assert main["body"] == seed.AWKWARD and main["latitude"] == "53.226000"
        plain = next(i for i in tables["ideas"] if i["title"] == "Plain")
        assert plain["area"] == "" and plain["body"] == "" and plain["tags"] == "[]"
        comments = {c["id"]: c for c in tables["comments"]}
        tomb = comments[str(seeded.comments["tomb"].id)]
        hidden = comments[str(seeded.comments["hidden"].id)]
        assert tomb["state"] == "deleted" and hidden["state"] == "hidden"
        for blanked in (tomb, hidden):
            assert blanked["body"] == blanked["author_persona_id"] == blanked["stance"] == ""
        reply = comments[str(seeded.comments["reply"].id)]
        assert reply["parent_id"] == tomb["id"] and reply["state"] == "published"
        personas = {p["id"]: p for p in tables["personas"]}
        assert personas[str(seeded.personas["former"].id)]["display_name"] == "Former participant"
        venue = tables["venues"][0]
        assert (venue["capacity"], venue["places_taken"], venue["attended"]) == ("2", "1", "1")
        secret_id, public_id = (str(seeded.ballots[k].id) for k in ("secret", "public"))
        secret = [c for c in tables["cast_ballots"] if c["ballot_id"] == secret_id]
        public = [c for c in tables["cast_ballots"] if c["ballot_id"] == public_id]
        assert len(secret) == len(public) == 5
        for row in secret:
            assert row["persona_id"] == row["cast_at"] == row["updated_at"] == row["changes"] == ""
            assert len(row["id"]) == 32 and int(row["id"], 16) >= 0
        assert [r["id"] for r in secret] == sorted(r["id"] for r in secret)
        assert {r["persona_id"] for r in public} == {str(p.id) for p, _ in voters}
        assert all(r["cast_at"].endswith("Z") for r in public)
        choices = tables["cast_ballot_choices"]
        assert len([c for c in choices if c["ballot_id"] == secret_id]) == 10
        assert {c["value"] for c in choices if c["ballot_id"] == public_id} == {"1", "0", "-1"}
        result = tables["results"]
        assert {json.loads(r["result"])["winner"] for r in result} == {seed.AWKWARD}
        metrics = tables["daily_metrics"]
        assert sum(int(m["ballots_cast"]) for m in metrics) == 10
    # The anonymous ids are stable from one export to the next.
    again = await export(live_db, "platform", tmp_path / "again")
    assert (again.parent / "cast_ballots.csv").read_bytes() == (
        tmp_path / "platform" / "cast_ballots.csv"
    ).read_bytes()


async def test_moot_export_command(live_db: Database, tmp_path: Path) -> None:
    await _load_demo(live_db)
    env = {
        **os.environ,
        "DATABASE_URL": live_db.engine.url.render_as_string(hide_password=False),
        "MOOT_VAR_DIR": str(tmp_path / "var"),
        "MOOT_BASE_URL": "https://moot.example",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "export", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = await asyncio.to_thread(run, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "written to" in done.stdout
    report = assert_valid(tmp_path / "out" / "datapackage.json")
    assert report.stats["tasks"] == 2 * len(RESOURCES)
    descriptor = json.loads((tmp_path / "out" / "datapackage.json").read_text())
    assert descriptor["sources"][0]["path"] == "https://moot.example/open-data"
    assert all(r["hash"].startswith("sha256:") for r in descriptor["resources"])
    zipped = await asyncio.to_thread(
        run, "--out", str(tmp_path / "zips"), "--call", demo.FUTURES, "--zip"
    )
    assert zipped.returncode == 0, zipped.stderr
    archive = tmp_path / "zips" / f"call-{demo.FUTURES}.zip"
    with zipfile.ZipFile(archive) as z:
        assert "datapackage.json" in z.namelist() and "ideas.csv" in z.namelist()
        z.extractall(tmp_path / "unzipped")
    assert_valid(tmp_path / "unzipped" / "datapackage.json")
    assert list((tmp_path / "zips").iterdir()) == [archive]
    missing = await asyncio.to_thread(run, "--out", str(tmp_path / "x"), "--call", "nope")
    assert missing.returncode == 2 and "no call" in missing.stderr
