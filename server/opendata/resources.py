"""What Moot publishes as open data: one declarative entry per table.

The entries are declared by group, on the building blocks of ``resources_base`` (columns,
resources, ``sql_for``): ``resources_calls``, ``resources_ideas`` (with the outcomes),
``resources_events``, ``resources_votes`` and ``resources_metrics``. This module puts them
together in the order they are published.

Each resource is a SELECT with explicit columns over the public rows only, and its Table Schema.
Nothing here reads a column that holds personal data: accounts, emails, password hashes,
sessions, tokens, verifications, persons, registrations' identities, the audit log and the outbox
are never mentioned, nor is ``personas.account_id`` (the link between a persona and an account).

Rules applied throughout:

* Ideas: only published (``published_at`` set) and not hidden. Anything pointing at an idea that
  is not exported (a session's, a solution's or a ballot option's idea) has that link blanked.
* Comments on exported ideas are all listed, so that replies keep their parent, but a deleted
  (tombstone) or hidden comment keeps only its place in the thread: ``state`` says which, and its
  body, stance, author and edit time are blank.
* Ballots: drafts are not exported. Cast ballots only once a ballot's result is published. On a
  public (non-secret) ballot each cast ballot names its persona; on a secret ballot it carries
  only the ballot and the content, under an id that is a keyed hash of the row (stable between
  exports, unlinkable to anything else) and rows are sorted by that id, so the order reveals
  nothing about when anyone voted; the times and the number of changes are blank.
* Personas: only those that authored something exported; former participants (deleted
  accounts) always appear as "Former participant". No description, no account.
* Timestamps are UTC, ISO 8601 with a "Z"; NULL is an empty CSV cell (``null`` in JSON Lines).

SQL templates take two placeholders, substituted by ``sql_for`` with literals it validates:
``$CALL`` (the call id, or NULL for the whole platform) and ``$KEY`` (the hex key that keys the
anonymous ids of cast ballots).
"""

from __future__ import annotations

from server.opendata.resources_base import Col, FieldType, ForeignKey, Resource, sql_for
from server.opendata.resources_calls import CALLS
from server.opendata.resources_events import EVENTS
from server.opendata.resources_ideas import IDEAS, OUTCOMES
from server.opendata.resources_metrics import METRICS
from server.opendata.resources_votes import VOTES

__all__ = [
    "BY_NAME",
    "RESOURCES",
    "SCHEMA_VERSION",
    "Col",
    "FieldType",
    "ForeignKey",
    "Resource",
    "sql_for",
]

SCHEMA_VERSION = "1.0.0"

# The order of the published package (and of the pages listing it).
RESOURCES: tuple[Resource, ...] = (*CALLS, *IDEAS, *EVENTS, *OUTCOMES, *VOTES, *METRICS)

BY_NAME: dict[str, Resource] = {r.name: r for r in RESOURCES}
