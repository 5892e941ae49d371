"""Property: for any sequence of casts and changes, the running tallies equal a full recount."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from server.votes import casting, service
from server.votes.models import BallotKind
from tests.factories import make_account, make_persona, now
from tests.votes.factories import make_ballot, make_voting_call

KINDS = [BallotKind.SUPPORT, BallotKind.APPROVAL, BallotKind.RANKED, BallotKind.STATEMENTS]

# (voter index, choices as option indexes / statement answers)
steps = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
        st.lists(st.sampled_from([-1, 0, 1]), min_size=4, max_size=4),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(KINDS), sequence=steps)
async def test_tallies_equal_a_recount(
    session: AsyncSession, kind: BallotKind, sequence: list[tuple[int, list[int], list[int]]]
) -> None:
    savepoint = await session.begin_nested()  # each example starts clean
    try:
        call = await make_voting_call(session, slug=f"prop-{kind.value}")
        ballot = await make_ballot(session, call, kind, max_choices=4)
        options = [o.id for o in await service.options_of(session, ballot.id)]
        voters = []
        for _ in range(5):
            account = await make_account(session)
            voters.append((account, await make_persona(session, account)))
        for voter, picks, answers in sequence:
            account, persona = voters[voter]
            if kind == BallotKind.STATEMENTS:
                choices: object = {str(options[i]): a for i, a in enumerate(answers)}
            else:
                choices = [options[i] for i in picks]
            await casting.cast(session, ballot.id, account, persona.id, choices, now=now())
        assert await casting.tallies(session, ballot.id) == await casting.recount(session, ballot)
        assert await casting.turnout(session, ballot.id) == len({v for v, _, _ in sequence})
    finally:
        await savepoint.rollback()
