"""Calls, their phases, regions and organisers: the rules and the writes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call, Organiser, Phase, PhaseKind, Region
from server.errors import Conflict, NotFound, ValidationFailed
from server.pagination import Page, PageArgs, encode_cursor, keyset_page, page_args, seek

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _check_slug(slug: str) -> None:
    if not _SLUG.match(slug) or len(slug) > 80:
        raise ValidationFailed(
            "Use lower-case letters, digits and single hyphens (at most 80 characters).",
            field="slug",
        )


async def create_region(session: AsyncSession, *, slug: str, name: str) -> Region:
    _check_slug(slug)
    if await session.scalar(select(Region.id).where(Region.slug == slug)):
        raise Conflict(f"A region called {slug!r} already exists.", field="slug")
    region = Region(slug=slug, name=name.strip())
    session.add(region)
    await session.flush()
    return region


async def create_organiser(
    session: AsyncSession, *, slug: str, name: str, region: Region, website: str | None = None
) -> Organiser:
    _check_slug(slug)
    if await session.scalar(select(Organiser.id).where(Organiser.slug == slug)):
        raise Conflict(f"An organiser called {slug!r} already exists.", field="slug")
    organiser = Organiser(slug=slug, name=name.strip(), region_id=region.id, website=website)
    session.add(organiser)
    await session.flush()
    return organiser


@dataclass(frozen=True, slots=True)
class PhaseInput:
    kind: PhaseKind
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    description: str = ""


@dataclass(frozen=True, slots=True)
class CallInput:
    slug: str
    title: str
    summary: str
    phases: Sequence[PhaseInput]
    description: str = ""
    tags: Sequence[str] = field(default_factory=tuple)
    image_url: str | None = None
    image_alt: str | None = None


def _validate_call(data: CallInput) -> None:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "Give the call a title."
    elif len(data.title) > 200:
        errors["title"] = "Keep the title to 200 characters or fewer."
    if not data.summary.strip():
        errors["summary"] = "Give the call a one-line summary."
    elif len(data.summary) > 500:
        errors["summary"] = "Keep the summary to 500 characters or fewer."
    if not _SLUG.match(data.slug) or len(data.slug) > 80:
        errors["slug"] = "Use lower-case letters, digits and single hyphens (at most 80)."
    if not data.phases:
        errors["phases"] = "A call needs at least one phase."
    if data.image_url and not data.image_url.startswith(("https://", "/static/")):
        errors["image_url"] = "Use an https:// address (or a /static/ path) for the image."
    if data.image_url and not (data.image_alt or "").strip():
        errors["image_alt"] = "Describe the image for people who cannot see it."
    if len(data.tags) > 10:
        errors["tags"] = "Use at most 10 tags."
    for i, phase in enumerate(data.phases):
        if phase.starts_at.tzinfo is None or phase.ends_at.tzinfo is None:
            errors["phases"] = f"Phase {i + 1}: dates need a time zone."
        elif phase.ends_at <= phase.starts_at:
            errors["phases"] = f"Phase {i + 1} ({phase.title}) must end after it starts."
        elif i and phase.starts_at < data.phases[i - 1].ends_at:
            errors["phases"] = f"Phase {i + 1} ({phase.title}) overlaps the phase before it."
    if errors:
        raise ValidationFailed(errors=errors)


def _phase_row(call_id: int, position: int, p: PhaseInput) -> Phase:
    return Phase(
        call_id=call_id,
        position=position,
        kind=p.kind,
        title=p.title.strip(),
        description=p.description,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
    )


async def create_call(
    session: AsyncSession, data: CallInput, *, organiser: Organiser, region: Region
) -> Call:
    _validate_call(data)
    if await session.scalar(select(Call.id).where(Call.slug == data.slug)):
        raise Conflict("Another call already uses that address.", field="slug")
    call = Call(
        slug=data.slug,
        title=data.title.strip(),
        summary=data.summary.strip(),
        description=data.description,
        tags=[t.strip().lower() for t in data.tags if t.strip()],
        image_url=data.image_url,
        image_alt=data.image_alt,
        organiser_id=organiser.id,
        region_id=region.id,
        opens_at=data.phases[0].starts_at,
        closes_at=data.phases[-1].ends_at,
    )
    session.add(call)
    await session.flush()
    session.add_all(_phase_row(call.id, i, p) for i, p in enumerate(data.phases))
    await session.flush()
    return call


async def update_call(session: AsyncSession, call: Call, data: CallInput) -> Call:
    """Change a call and its timeline. Phases are matched by position: existing ones are
    updated in place (keeping their ids), extra ones added, missing ones removed."""
    _validate_call(data)
    if data.slug != call.slug and await session.scalar(
        select(Call.id).where(Call.slug == data.slug)
    ):
        raise Conflict("Another call already uses that address.", field="slug")
    call.slug = data.slug
    call.title = data.title.strip()
    call.summary = data.summary.strip()
    call.description = data.description
    call.tags = [t.strip().lower() for t in data.tags if t.strip()]
    call.image_url = data.image_url
    call.image_alt = data.image_alt
    call.opens_at = data.phases[0].starts_at
    call.closes_at = data.phases[-1].ends_at
    existing = await phases_of(session, call.id)
    for phase in existing[len(data.phases) :]:
        await session.delete(phase)
    await session.flush()
    for i, p in enumerate(data.phases):
        if i < len(existing):
            row = existing[i]
            row.kind, row.title, row.description = p.kind, p.title.strip(), p.description
            row.starts_at, row.ends_at = p.starts_at, p.ends_at
        else:
            session.add(_phase_row(call.id, i, p))
    await session.flush()
    return call


_CALL_BY_SLUG = select(Call).where(Call.slug == bindparam("slug"))


async def get_call(session: AsyncSession, slug: str) -> Call:
    call = await session.scalar(_CALL_BY_SLUG, {"slug": slug})
    if call is None:
        raise NotFound("There is no call at that address.")
    return call


# session.info key: the phases a read-only page has already loaded, by call id.
_PHASES_READ = "calls.phases_read"
_PHASES = select(Phase).where(Phase.call_id == bindparam("call_id")).order_by(Phase.position)


def reuse_phases(session: AsyncSession) -> None:
    """Let :func:`phases_of` answer repeat questions about a call from what this session has
    already read. For read-only pages whose sections each check the phase on their own (the idea
    page's actions and its discussion; the call page's ideas and events), so the timeline is
    read once per request. Sessions that write keep reading it afresh."""
    session.info.setdefault(_PHASES_READ, {})


async def phases_of(session: AsyncSession, call_id: int) -> list[Phase]:
    read: dict[int, list[Phase]] | None = session.info.get(_PHASES_READ)
    if read is not None and call_id in read:
        return list(read[call_id])
    phases = list(await session.scalars(_PHASES, {"call_id": call_id}))
    if read is not None:
        read[call_id] = phases
    return list(phases)


async def phases_for(session: AsyncSession, call_ids: Sequence[int]) -> dict[int, list[Phase]]:
    """Phases of several calls in one query, keyed by call id."""
    grouped: dict[int, list[Phase]] = {cid: [] for cid in call_ids}
    rows = await session.scalars(
        select(Phase).where(Phase.call_id.in_(call_ids)).order_by(Phase.call_id, Phase.position)
    )
    for phase in rows:
        grouped[phase.call_id].append(phase)
    return grouped


def current_phase(phases: Sequence[Phase], now: dt.datetime) -> Phase | None:
    return next((p for p in phases if p.starts_at <= now < p.ends_at), None)


def next_phase(phases: Sequence[Phase], now: dt.datetime) -> Phase | None:
    return next((p for p in phases if p.starts_at > now), None)


async def list_open_calls(
    session: AsyncSession,
    *,
    now: dt.datetime,
    first: int | None = None,
    after: str | None = None,
    page: PageArgs | None = None,
) -> Page[Call]:
    """Calls open now, closing soonest first (``page``: forwards or backwards)."""
    args = page or page_args(first, after)
    open_now = (Call.opens_at <= now, Call.closes_at > now)
    query = seek(select(Call).where(*open_now), (Call.closes_at, Call.id), (dt.datetime, int), args)
    rows = list(await session.scalars(query))
    total = await session.scalar(select(func.count()).select_from(Call).where(*open_now))
    return keyset_page(rows, args, lambda c: encode_cursor((c.closes_at, c.id)), total=total)


async def list_organisers(session: AsyncSession) -> list[Organiser]:
    return list(await session.scalars(select(Organiser).order_by(Organiser.name)))


async def list_regions(session: AsyncSession) -> list[Region]:
    return list(await session.scalars(select(Region).order_by(Region.name)))


async def list_past_calls(
    session: AsyncSession, *, now: dt.datetime, limit: int = 10
) -> list[Call]:
    rows = await session.scalars(
        select(Call)
        .where(Call.closes_at <= now)
        .order_by(Call.closes_at.desc(), Call.id.desc())
        .limit(limit)
    )
    return list(rows)
