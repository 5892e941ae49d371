"""Everything public that a page shows can be read through the API without signing in:
organisers, regions, calls with phases, ideas with endorsement counts, threaded comments with
their personas' public profiles, events with venues and places left, outcomes and call metrics.
(Votes and published results: tests/votes/test_gql.py reads them signed out.)"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.comments import service as comments
from server.demo import FUTURES, RIVERSIDE
from server.outcomes import service as outcomes
from tests.calls.test_gql import gql
from tests.factories import make_account, make_call, make_idea, make_persona, now

PUBLIC = """query($futures: String!, $riverside: String!) {
  regions { id name }
  organisers { id slug name website region { name } }
  futures: call(slug: $futures) {
    title
    organiser { name }
    phases { kind title startsAt endsAt }
    currentPhase { kind }
    events { title venues { name capacity remainingPlaces waitlistLength accessibility } }
    ballots { title status result { method } }
    ideas(first: 50) {
      totalCount
      edges { node {
        id title endorsementCount commentCount status
        author { id displayName kind description avatarColour verified createdAt }
        comments(first: 50) { totalCount edges { node {
          depth body parent { id } replyCount author { displayName kind }
        } } }
      } }
    }
  }
  riverside: call(slug: $riverside) {
    ideas(first: 50) { edges { node { title outcome { status responseHtml decidedAt } } } }
  }
  callMetrics(slug: $riverside) {
    ideaCount answeredCount participants commentCount voteCount
    byStatus { key count }
    participation { day ideas comments endorsements votes }
  }
}"""


async def test_public_pages_content_is_readable_anonymously(demo_api: httpx.AsyncClient) -> None:
    result = await gql(demo_api, PUBLIC, futures=FUTURES, riverside=RIVERSIDE)
    assert "errors" not in result, result.get("errors")
    data = result["data"]
    assert [r["name"] for r in data["regions"]] == ["South West"]
    assert {o["name"] for o in data["organisers"]} >= {
        "South West Futures Partnership",
        "Exeter City Council",
    }
    assert all(o["region"]["name"] == "South West" for o in data["organisers"])
    futures = data["futures"]
    assert futures["phases"] and futures["currentPhase"]["kind"] == "IDEAS"
    venues = futures["events"][0]["venues"]
    assert all(v["remainingPlaces"] <= v["capacity"] for v in venues)
    ideas = [e["node"] for e in futures["ideas"]["edges"]]
    assert len(ideas) == futures["ideas"]["totalCount"] > 0
    assert any(i["endorsementCount"] > 0 for i in ideas)
    author = ideas[0]["author"]
    assert author["displayName"] and author["kind"]
    # The persona is a public profile of its own, by its global id.
    profile = await gql(
        demo_api,
        "query($id: ID!) { node(id: $id) { ... on Persona { displayName kind verified } } }",
        id=author["id"],
    )
    assert profile["data"]["node"] == {
        "displayName": author["displayName"],
        "kind": author["kind"],
        "verified": author["verified"],
    }
    threads = [c["node"] for i in ideas for c in i["comments"]["edges"]]
    assert threads, "the demo has discussions"
    assert any(c["depth"] > 0 and c["parent"] is not None for c in threads), "threaded"
    outcomes = [e["node"]["outcome"] for e in data["riverside"]["ideas"]["edges"]]
    assert any(o is not None for o in outcomes)
    metrics = data["callMetrics"]
    assert metrics["ideaCount"] > 0 and metrics["answeredCount"] > 0
    assert metrics["participants"] > 0
    assert metrics["voteCount"] == 0
    days = metrics["participation"]
    assert sum(d["ideas"] for d in days) == metrics["ideaCount"]
    assert sum(d["comments"] for d in days) == metrics["commentCount"]
    assert sum(d["votes"] for d in days) == metrics["voteCount"]


async def test_participants_count_people_not_personas(session: AsyncSession) -> None:
    call = await make_call(session)
    someone = await make_account(session)
    one, other = await make_persona(session, someone), await make_persona(session, someone)
    idea = await make_idea(session, call, author=one)
    for account, persona in ((someone, other), (await make_account(session), None)):
        persona = persona or await make_persona(session, account)
        await comments.create_comment(
            session, account, idea_id=idea.id, persona_id=persona.id, body="Hm.", now=now()
        )
    assert await outcomes.participant_count(session, call.id) == 2
    assert await outcomes.comment_count(session, call.id) == 2
    assert await outcomes.vote_count(session, call.id) == 0
