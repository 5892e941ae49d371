"""What residents may do in each phase of a call: decided here, on the server, once.

Pages and the API ask :func:`require` before every write; the call page asks :func:`open_actions`
to say what is open and until when."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence

from server.calls.models import Phase, PhaseKind
from server.errors import Forbidden


class Action(enum.StrEnum):
    POST_IDEA = "post_idea"
    EDIT_IDEA = "edit_idea"
    COMMENT = "comment"
    ENDORSE = "endorse"
    REGISTER = "register"
    VOTE = "vote"
    RESPOND = "respond"  # councillors' outcomes: any time once ideas exist


ALLOWED: dict[PhaseKind, frozenset[Action]] = {
    PhaseKind.IDEAS: frozenset(
        {Action.POST_IDEA, Action.EDIT_IDEA, Action.COMMENT, Action.ENDORSE, Action.REGISTER}
    ),
    PhaseKind.DELIBERATION: frozenset({Action.COMMENT, Action.ENDORSE, Action.REGISTER}),
    PhaseKind.EVENT: frozenset({Action.COMMENT, Action.REGISTER}),
    PhaseKind.VOTING: frozenset({Action.COMMENT, Action.VOTE}),
    PhaseKind.FOLLOW_UP: frozenset({Action.COMMENT}),
}

DESCRIPTIONS = {
    Action.POST_IDEA: "post ideas",
    Action.EDIT_IDEA: "edit ideas",
    Action.COMMENT: "comment",
    Action.ENDORSE: "endorse ideas",
    Action.REGISTER: "register for the event",
    Action.VOTE: "vote",
    Action.RESPOND: "respond",
}


def current(phases: Sequence[Phase], now: dt.datetime) -> Phase | None:
    return next((p for p in phases if p.starts_at <= now < p.ends_at), None)


def allows(phases: Sequence[Phase], action: Action, now: dt.datetime) -> bool:
    if action == Action.RESPOND:
        return True
    phase = current(phases, now)
    return phase is not None and action in ALLOWED[phase.kind]


class PhaseClosed(Forbidden):
    code = "PHASE_CLOSED"


def require(phases: Sequence[Phase], action: Action, now: dt.datetime) -> None:
    if allows(phases, action, now):
        return
    phase = current(phases, now)
    what = DESCRIPTIONS[action]
    if phase is None:
        raise PhaseClosed(f"This call is not open just now, so you cannot {what}.")
    raise PhaseClosed(f"You cannot {what} during {phase.title}.")


def open_actions(phases: Sequence[Phase], now: dt.datetime) -> list[str]:
    phase = current(phases, now)
    if phase is None:
        return []
    return [DESCRIPTIONS[a] for a in Action if a in ALLOWED[phase.kind]]
