"""Pages for outcomes: a councillor's form to answer an idea, and the councillors' dashboard for
a call (tables, a participation chart drawn server-side as SVG, and the ideas still unanswered)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.calls.service import get_call
from server.errors import Forbidden, ValidationFailed
from server.identity import auth
from server.identity.models import Account
from server.outcomes import service
from server.outcomes.models import Outcome, OutcomeStatus
from server.outcomes.service import DayActivity
from server.web import render

STATUS_HINTS = {
    OutcomeStatus.UNDER_CONSIDERATION: "The council is still looking into it.",
    OutcomeStatus.ACCEPTED: "The council will do it.",
    OutcomeStatus.PARTLY_ACCEPTED: "The council will do some of it.",
    OutcomeStatus.NOT_TAKEN_FORWARD: "The council will not do it; say why.",
    OutcomeStatus.ALREADY_HAPPENING: "It is already done or under way.",
}
STATUSES = [(s.value, service.status_label(s.value), STATUS_HINTS[s]) for s in OutcomeStatus]


# --- the outcome form -------------------------------------------------------------------------


async def _form(
    request: Request,
    account: Account,
    idea_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        idea, call = await service.idea_with_call(session, idea_id)
        if not await service.can_respond(session, account.id, call):
            raise Forbidden("Only a councillor for this call's area can answer its ideas.")
        current = await session.scalar(select(Outcome).where(Outcome.idea_id == idea.id))
    if values is None:
        values = {
            "status": current.status.value if current else "",
            "response": current.response if current else "",
            "decision_reference": (current.decision_reference or "") if current else "",
            "budget_line": (current.budget_line or "") if current else "",
        }
    context = {
        "idea": idea,
        "call": call,
        "current": current,
        "values": values,
        "errors": errors or {},
        "statuses": STATUSES,
    }
    return render(request, "outcomes/form.html", context, status=status)


async def outcome_page(request: Request) -> Response:
    account = await auth.require_account(request)
    return await _form(request, account, request.path_params["id"])


def _input(form: FormData) -> service.OutcomeInput:
    return service.OutcomeInput(
        status=str(form.get("status", "")),
        response=str(form.get("response", "")),
        decision_reference=str(form.get("decision_reference", "")),
        budget_line=str(form.get("budget_line", "")),
    )


async def record(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    idea_id = request.path_params["id"]
    try:
        async with request.app.state.db.session() as session, session.begin():
            await service.respond(session, account, idea_id, _input(form))
            _, call = await service.idea_with_call(session, idea_id)
    except ValidationFailed as exc:
        return await _form(
            request,
            account,
            idea_id,
            values={k: str(v) for k, v in form.items()},
            errors=exc.errors,
            status=422,
        )
    return RedirectResponse(
        f"/calls/{call.slug}/dashboard?done=outcome-recorded#unanswered", status_code=303
    )


# --- the dashboard ----------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40
SERIES = (  # stacked from the bottom; dark colours with 3:1 contrast or more on white
    ("ideas", "Ideas", "#0b4f6c"),
    ("comments", "Comments", "#6f3a00"),
    ("endorsements", "Endorsements", "#4c2c92"),
)


@dataclass(frozen=True, slots=True)
class Segment:
    y: float
    height: float
    colour: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    label: str
    segments: list[Segment]


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def chart(days: Sequence[DayActivity]) -> dict[str, Any]:
    """The geometry of a stacked bar chart of activity per day, for an inline SVG."""
    plot_w = CHART_WIDTH - LEFT - RIGHT
    plot_h = CHART_HEIGHT - TOP - BOTTOM
    peak = max((d.total for d in days), default=0) or 1
    step = plot_w / max(len(days), 1)
    width = max(min(step * 0.8, 48.0), 1.0)
    bars = []
    for i, d in enumerate(days):
        base = TOP + plot_h
        segments = []
        for key, _, colour in SERIES:
            h = getattr(d, key) / peak * plot_h
            if h > 0:
                base -= h
                segments.append(Segment(round(base, 2), round(h, 2), colour))
        label = (
            f"{d.day.day} {d.day:%b}: {d.ideas} ideas, {d.comments} comments, "
            f"{d.endorsements} endorsements"
        )
        bars.append(
            Bar(round(LEFT + i * step + (step - width) / 2, 2), round(width, 2), label, segments)
        )
    ticks = sorted({0, peak // 2, peak}) if peak > 1 else [0, 1]
    busiest = max(days, key=lambda d: d.total) if days else None
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": LEFT,
        "right": CHART_WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "bars": bars,
        "ticks": [(t, round(TOP + plot_h - t / peak * plot_h, 2)) for t in ticks],
        "series": SERIES,
        "first": _day(days[0].day) if days else "",
        "last": _day(days[-1].day) if days else "",
        "busiest": _day(busiest.day) if busiest else "",
        "busiest_total": busiest.total if busiest else 0,
        "totals": {key: sum(getattr(d, key) for d in days) for key, _, _ in SERIES},
    }


async def dashboard(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        call = await get_call(session, request.path_params["slug"])
        if not await service.can_see_dashboard(session, account.id, call):
            raise Forbidden("The dashboard is for the call's councillors and organisers.")
        by_status = await service.status_counts(session, call.id)
        by_tag = await service.tag_counts(session, call.id)
        by_area = await service.area_counts(session, call.id)
        days = await service.participation(session, call.id)
        stances = await service.stance_tallies(session, call.id)
        waiting = await service.unanswered(session, call.id)
        can_respond = await service.can_respond(session, account.id, call)
    context = {
        "call": call,
        "by_status": [(service.status_label(s), n) for s, n in by_status],
        "idea_count": sum(n for _, n in by_status),
        "by_tag": by_tag,
        "by_area": by_area,
        "days": days,
        "chart": chart(days),
        "stances": stances,
        "waiting": waiting,
        "can_respond": can_respond,
    }
    return render(request, "dashboard/call.html", context)


routes = [
    Route("/ideas/{id:id}/outcome", outcome_page, methods=["GET"]),
    Route("/ideas/{id:id}/outcome", record, methods=["POST"]),
    Route("/calls/{slug:str}/dashboard", dashboard, methods=["GET"]),
]
