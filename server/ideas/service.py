"""Ideas posted to calls: the rules and the writes.

Who may do what is decided here, once, for pages and the API alike: the call's phase
(:mod:`server.calls.rules`), the persona's owner, and a light account's own call."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls import rules
from server.calls.models import Call
from server.calls.service import phases_of
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import Idea, IdeaRevision
from server.identity.models import Account, AccountKind
from server.outcomes.models import Outcome
from server.personas.models import Persona
from server.personas.service import usable_persona

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_AREA = 100
MAX_TAGS = 8
MAX_TAG = 50
_MARKUP = re.compile(r"<\s*/?\s*(script|iframe|object|embed|style|svg)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IdeaInput:
    title: str
    body: str = ""
    tags: Sequence[str] = field(default_factory=tuple)
    area: str | None = None
    latitude: Decimal | float | str | None = None
    longitude: Decimal | float | str | None = None


@dataclass(frozen=True, slots=True)
class Clean:
    title: str
    body: str
    tags: list[str]
    area: str | None
    latitude: Decimal | None
    longitude: Decimal | None


def normalise_tags(raw: Sequence[str]) -> list[str]:
    tags: list[str] = []
    for tag in raw:
        tag = " ".join(tag.split()).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _coordinate(value: Decimal | float | str | None, limit: int) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise ValueError
    return number.quantize(Decimal("0.000001"))


def validate(data: IdeaInput) -> Clean:
    """The idea as it will be stored, or ValidationFailed naming every field at fault."""
    errors: dict[str, str] = {}
    title = " ".join(data.title.split())
    if not title:
        errors["title"] = "Give your idea a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters or fewer."
    elif _MARKUP.search(title):
        errors["title"] = "Remove the HTML tag from the title; use plain words."
    body = data.body.replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        errors["body"] = (
            f"Keep the description to {MAX_BODY:,} characters or fewer (it is {len(body):,} now)."
        )
    elif _MARKUP.search(body):
        errors["body"] = (
            "Remove the HTML tag (such as <script>) from the description; "
            "use Markdown for formatting."
        )
    tags = normalise_tags(data.tags)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags."
    elif any(len(t) > MAX_TAG for t in tags):
        errors["tags"] = f"Keep each tag to {MAX_TAG} characters or fewer."
    area = " ".join((data.area or "").split()) or None
    if area and len(area) > MAX_AREA:
        errors["area"] = f"Keep the area to {MAX_AREA} characters or fewer."
    latitude = longitude = None
    try:
        latitude = _coordinate(data.latitude, 90)
    except ValueError:
        errors["latitude"] = "Give a latitude between -90 and 90, such as 50.7987."
    try:
        longitude = _coordinate(data.longitude, 180)
    except ValueError:
        errors["longitude"] = "Give a longitude between -180 and 180, such as -3.1887."
    if not errors.keys() & {"latitude", "longitude"} and (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        errors[missing] = "Give both latitude and longitude for a map point, or neither."
    if errors:
        raise ValidationFailed(errors=errors)
    return Clean(title, body, tags, area, latitude, longitude)


async def create_idea(
    session: AsyncSession,
    call: Call,
    author: Persona,
    *,
    title: str,
    body: str,
    now: dt.datetime,
    publish: bool = True,
    tags: Sequence[str] = (),
    area: str | None = None,
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
) -> Idea:
    """Store a checked idea. Callers acting for a resident use :func:`post_idea`, which also
    checks the phase, the persona and the account's scope."""
    clean = validate(IdeaInput(title, body, tags, area, latitude, longitude))
    idea = Idea(
        call_id=call.id,
        author_persona_id=author.id,
        title=clean.title,
        body=clean.body,
        tags=clean.tags,
        area=clean.area,
        latitude=clean.latitude,
        longitude=clean.longitude,
        published_at=now if publish else None,
        updated_at=now,
    )
    session.add(idea)
    await session.flush()
    return idea


def check_scope(account: Account, call_id: int) -> None:
    """A light account was made for one call and may act only there."""
    if account.kind == AccountKind.LIGHT and account.light_call_id != call_id:
        raise Forbidden("Your venue account can only take part in the call it was made for.")


async def persona_for(session: AsyncSession, account: Account, persona_id: int) -> Persona:
    try:
        return await usable_persona(session, account, persona_id)
    except Forbidden:
        raise ValidationFailed("Choose one of your own personas.", field="persona_id") from None


async def require_action(
    session: AsyncSession, account: Account, call_id: int, action: rules.Action, now: dt.datetime
) -> None:
    check_scope(account, call_id)
    rules.require(await phases_of(session, call_id), action, now)


async def post_idea(
    session: AsyncSession,
    account: Account,
    call: Call,
    persona_id: int,
    data: IdeaInput,
    *,
    now: dt.datetime,
    publish: bool = True,
) -> Idea:
    """A resident posts (or saves a draft of) an idea as one of their personas."""
    await require_action(session, account, call.id, rules.Action.POST_IDEA, now)
    persona = await persona_for(session, account, persona_id)
    idea = await create_idea(
        session,
        call,
        persona,
        title=data.title,
        body=data.body,
        now=now,
        publish=publish,
        tags=data.tags,
        area=data.area,
        latitude=data.latitude,
        longitude=data.longitude,
    )
    await audit.record(
        session,
        actor=account.id,
        action="idea.published" if publish else "idea.drafted",
        subject_type="idea",
        subject_id=idea.id,
    )
    return idea


async def is_author(session: AsyncSession, account: Account | None, idea: Idea) -> bool:
    if account is None:
        return False
    # A get, not a select: the idea page has loaded the author already (see idea_with_context).
    author = await session.get(Persona, idea.author_persona_id)
    return author is not None and author.account_id == account.id


async def visible_idea(
    session: AsyncSession, idea_id: int, viewer: Account | None, *, lock: bool = False
) -> Idea:
    """An idea the viewer may see: published and not hidden, or their own draft."""
    idea = await session.get(Idea, idea_id, with_for_update=lock)
    if idea is None or idea.hidden_at is not None:
        raise NotFound("There is no such idea.")
    if idea.published_at is None and not await is_author(session, viewer, idea):
        raise NotFound("There is no such idea.")
    return idea


@dataclass(frozen=True, slots=True)
class IdeaInContext:
    """An idea with what its page shows around it."""

    idea: Idea
    call: Call
    author: Persona
    outcome: Outcome | None


_IDEA_IN_CONTEXT = (
    select(Idea, Call, Persona, Outcome)
    .join(Call, Call.id == Idea.call_id)
    .join(Persona, Persona.id == Idea.author_persona_id)
    .outerjoin(Outcome, Outcome.idea_id == Idea.id)
    .where(Idea.id == bindparam("idea_id"))
)


async def idea_with_context(
    session: AsyncSession, idea_id: int, viewer: Account | None
) -> IdeaInContext:
    """:func:`visible_idea` with its call, author and council's answer, in one statement."""
    row = (await session.execute(_IDEA_IN_CONTEXT, {"idea_id": idea_id})).one_or_none()
    if row is None:
        raise NotFound("There is no such idea.")
    idea, call, author, outcome = row
    # The same checks as for any other reader; the idea and its author are in the session now,
    # so they cost no further statement.
    await visible_idea(session, idea.id, viewer)
    return IdeaInContext(idea, call, author, outcome)


async def _own_idea(
    session: AsyncSession, account: Account, idea_id: int, action: rules.Action, now: dt.datetime
) -> Idea:
    idea = await visible_idea(session, idea_id, account, lock=True)
    if not await is_author(session, account, idea):
        raise Forbidden("Only the author can change this idea.")
    await require_action(session, account, idea.call_id, action, now)
    return idea


async def edit_idea(
    session: AsyncSession, account: Account, idea_id: int, data: IdeaInput, *, now: dt.datetime
) -> Idea:
    """Change one's own idea. Once published, the previous title and body are kept as a
    revision and the version goes up, so readers can see what changed."""
    idea = await _own_idea(session, account, idea_id, rules.Action.EDIT_IDEA, now)
    clean = validate(data)
    if idea.published_at is not None and (clean.title, clean.body) != (idea.title, idea.body):
        session.add(
            IdeaRevision(idea_id=idea.id, version=idea.version, title=idea.title, body=idea.body)
        )
        idea.version += 1
    idea.title, idea.body, idea.tags = clean.title, clean.body, clean.tags
    idea.area, idea.latitude, idea.longitude = clean.area, clean.latitude, clean.longitude
    idea.updated_at = now
    await session.flush()
    await audit.record(
        session, actor=account.id, action="idea.edited", subject_type="idea", subject_id=idea.id
    )
    return idea


async def publish_idea(
    session: AsyncSession, account: Account, idea_id: int, *, now: dt.datetime
) -> Idea:
    idea = await _own_idea(session, account, idea_id, rules.Action.POST_IDEA, now)
    if idea.published_at is None:
        idea.published_at = now
        idea.updated_at = now
        await session.flush()
        await audit.record(
            session,
            actor=account.id,
            action="idea.published",
            subject_type="idea",
            subject_id=idea.id,
        )
    return idea


async def drafts_of(session: AsyncSession, account: Account, call_id: int) -> list[Idea]:
    rows = await session.scalars(
        select(Idea)
        .join(Persona, Persona.id == Idea.author_persona_id)
        .where(
            Persona.account_id == account.id,
            Idea.call_id == call_id,
            Idea.published_at.is_(None),
            Idea.hidden_at.is_(None),
        )
        .order_by(Idea.updated_at.desc(), Idea.id.desc())
    )
    return list(rows)


async def revisions_of(session: AsyncSession, idea_id: int) -> list[IdeaRevision]:
    rows = await session.scalars(
        select(IdeaRevision)
        .where(IdeaRevision.idea_id == idea_id)
        .order_by(IdeaRevision.version.desc())
    )
    return list(rows)
