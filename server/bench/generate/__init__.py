"""Realistic volumes, fast: ``moot demo generate --scale N``.

Scale 1 is about 1,000 ideas, 20,000 threaded comments with stances, 5,000 verified people
(persons, accounts, verifications, personas), 50,000 cast ballots over ten ballots with matching
``ballot_tallies``, and the calls, phases, events, venues, registrations, endorsements and
outcomes around them; scale 10 is ten times that (fractions such as 0.01 work too). Everything is
written with COPY (asyncpg ``copy_records_to_table``) in one transaction, with ids allocated up
front, so nothing is inserted one row at a time. Counters (``ideas.endorsement_count``,
``ideas.comment_count``, ``venues.registered``, the ballot tallies) are computed from the rows
written, so they agree with them.

Generated rows are marked: the region ``generated`` (which owns every generated call, and so by
cascade every idea, comment, ballot and event) and accounts under ``@generated.invalid``. Running
again at the same scale does nothing; at another scale it refuses unless ``reset`` is given,
which first removes every generated row (and only those).

The parts: :mod:`.generator` (the transaction, removal, checks), :mod:`.base` (sizes, names,
the COPY writer) and a builder for each kind of row: :mod:`.calls`, :mod:`.people`,
:mod:`.ideas` (ideas, outcomes, endorsements, comments), :mod:`.votes` and :mod:`.events`.
"""

from server.bench.generate.base import (
    AREAS,
    BALLOTS_PER_CALL,
    CALLS,
    COLOURS,
    EMAIL_DOMAIN,
    OPTIONS_PER_BALLOT,
    ORGANISER_SLUG,
    REGION_SLUG,
    TAGS,
    VENUES_PER_EVENT,
    WORDS,
    Plan,
    raw_dsn,
)
from server.bench.generate.generator import (
    AlreadyGenerated,
    Result,
    check_counters,
    existing_scale,
    generate,
    remove_generated,
)
from server.bench.generate.votes import add_published_casts

__all__ = [
    "AREAS",
    "BALLOTS_PER_CALL",
    "CALLS",
    "COLOURS",
    "EMAIL_DOMAIN",
    "OPTIONS_PER_BALLOT",
    "ORGANISER_SLUG",
    "REGION_SLUG",
    "TAGS",
    "VENUES_PER_EVENT",
    "WORDS",
    "AlreadyGenerated",
    "Plan",
    "Result",
    "add_published_casts",
    "check_counters",
    "existing_scale",
    "generate",
    "raw_dsn",
    "remove_generated",
]
