"""Organisers and admins create and edit calls and their timelines from the platform's pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.calls import service
from server.calls.models import Call, Organiser, PhaseKind, Region
from server.calls.service import CallInput, PhaseInput
from server.errors import Conflict, Forbidden, ValidationFailed
from server.identity import auth
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.web import LONDON, render

BLANK_PHASE_ROWS = 2
KIND_LABELS = {
    PhaseKind.IDEAS: "Call for ideas",
    PhaseKind.DELIBERATION: "Deliberation",
    PhaseKind.EVENT: "Event day",
    PhaseKind.VOTING: "Voting",
    PhaseKind.FOLLOW_UP: "Follow-up",
}


async def _may_organise(session: AsyncSession, account: Account, organiser_id: int) -> bool:
    return await has_role(session, account.id, Role.ORGANISER, organiser_id=organiser_id)


async def _organisers_for(session: AsyncSession, account: Account) -> list[Organiser]:
    return [
        o
        for o in await service.list_organisers(session)
        if await _may_organise(session, account, o.id)
    ]


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M") if value else ""


def _parse_time(raw: str, field: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(raw.strip(), "%Y-%m-%dT%H:%M").replace(tzinfo=LONDON)
    except ValueError:
        raise ValidationFailed(
            "Enter a date and time, like 2026-12-05 10:00.", field=field
        ) from None


def _parse(form: FormData, rows: int) -> CallInput:
    phases: list[PhaseInput] = []
    for i in range(rows):
        title = str(form.get(f"phase-{i}-title", "")).strip()
        starts, ends = str(form.get(f"phase-{i}-starts", "")), str(form.get(f"phase-{i}-ends", ""))
        if not (title or starts.strip() or ends.strip()):
            continue  # a blank row
        try:
            kind = PhaseKind(str(form.get(f"phase-{i}-kind", "")))
        except ValueError:
            raise ValidationFailed(
                "Choose what the phase is for.", field=f"phase-{i}-kind"
            ) from None
        if not title:
            raise ValidationFailed("Give the phase a title.", field=f"phase-{i}-title")
        phases.append(
            PhaseInput(
                kind=kind,
                title=title,
                starts_at=_parse_time(starts, f"phase-{i}-starts"),
                ends_at=_parse_time(ends, f"phase-{i}-ends"),
                description=str(form.get(f"phase-{i}-description", "")),
            )
        )
    image_url = str(form.get("image_url", "")).strip() or None
    return CallInput(
        slug=str(form.get("slug", "")).strip(),
        title=str(form.get("title", "")),
        summary=str(form.get("summary", "")),
        description=str(form.get("description", "")),
        tags=[t for t in str(form.get("tags", "")).split(",") if t.strip()],
        image_url=image_url,
        image_alt=str(form.get("image_alt", "")).strip() or None,
        phases=phases,
    )


def _values_from_call(call: Call | None, phases: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "slug": call.slug if call else "",
        "title": call.title if call else "",
        "summary": call.summary if call else "",
        "description": call.description if call else "",
        "tags": ", ".join(call.tags) if call else "",
        "image_url": (call.image_url or "") if call else "",
        "image_alt": (call.image_alt or "") if call else "",
        "organiser_id": str(call.organiser_id) if call else "",
    }
    for i, p in enumerate(phases):
        values |= {
            f"phase-{i}-kind": p.kind.value,
            f"phase-{i}-title": p.title,
            f"phase-{i}-starts": _local(p.starts_at),
            f"phase-{i}-ends": _local(p.ends_at),
            f"phase-{i}-description": p.description,
        }
    return values


async def _form(
    request: Request,
    *,
    call: Call | None,
    values: dict[str, Any],
    rows: int,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        organisers = await _organisers_for(session, account)
    if not organisers:
        raise Forbidden("Only organisers and admins can create or edit calls.")
    return render(
        request,
        "calls/edit.html",
        {
            "call": call,
            "values": values,
            "rows": rows,
            "errors": errors,
            "organisers": organisers,
            "kinds": KIND_LABELS,
        },
        status=status,
    )


async def new_page(request: Request) -> Response:
    return await _form(
        request, call=None, values=_values_from_call(None, []), rows=3 + BLANK_PHASE_ROWS, errors={}
    )


async def create(request: Request) -> Response:
    form = await auth.read_form(request, max_fields=120)
    account = await auth.require_account(request)
    rows = int(str(form.get("rows", "5"))) if str(form.get("rows", "5")).isdigit() else 5
    rows = min(rows, 20)
    try:
        data = _parse(form, rows)
        organiser_id = str(form.get("organiser_id", ""))
        async with request.app.state.db.session() as session, session.begin():
            organiser = (
                await session.get(Organiser, int(organiser_id)) if organiser_id.isdigit() else None
            )
            if organiser is None:
                raise ValidationFailed("Choose who runs the call.", field="organiser_id")
            if not await _may_organise(session, account, organiser.id):
                raise Forbidden("You cannot create calls for that organiser.")
            region = await session.get(Region, organiser.region_id)
            assert region is not None
            call = await service.create_call(session, data, organiser=organiser, region=region)
            slug = call.slug
    except (ValidationFailed, Conflict) as exc:
        errors = getattr(exc, "errors", None) or {exc.field or "title": exc.message}
        return await _form(
            request, call=None, values=dict(form), rows=rows, errors=errors, status=422
        )
    return RedirectResponse(f"/calls/{slug}?done=call-saved", status_code=303)


async def _editable(request: Request, session: AsyncSession) -> Call:
    account = await auth.require_account(request)
    call = await service.get_call(session, request.path_params["slug"])
    if not await _may_organise(session, account, call.organiser_id):
        raise Forbidden("Only the call's organisers and admins can edit it.")
    return call


async def edit_page(request: Request) -> Response:
    async with request.app.state.db.session() as session:
        call = await _editable(request, session)
        phases = await service.phases_of(session, call.id)
    return await _form(
        request,
        call=call,
        values=_values_from_call(call, phases),
        rows=len(phases) + BLANK_PHASE_ROWS,
        errors={},
    )


async def update(request: Request) -> Response:
    form = await auth.read_form(request, max_fields=120)
    raw_rows = str(form.get("rows", "5"))
    rows = min(int(raw_rows) if raw_rows.isdigit() else 5, 20)
    try:
        data = _parse(form, rows)
        async with request.app.state.db.session() as session, session.begin():
            call = await _editable(request, session)
            await service.update_call(session, call, data)
            slug = call.slug
    except (ValidationFailed, Conflict) as exc:
        async with request.app.state.db.session() as session:
            call = await _editable(request, session)
        errors = getattr(exc, "errors", None) or {exc.field or "title": exc.message}
        return await _form(
            request, call=call, values=dict(form), rows=rows, errors=errors, status=422
        )
    return RedirectResponse(f"/calls/{slug}?done=call-saved", status_code=303)


routes = [
    Route("/calls/new", new_page, methods=["GET"]),
    Route("/calls", create, methods=["POST"]),
    Route("/calls/{slug:str}/edit", edit_page, methods=["GET"]),
    Route("/calls/{slug:str}/edit", update, methods=["POST"]),
]
