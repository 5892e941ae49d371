"""What Moot publishes as open data: one declarative entry per table.

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

import re
from dataclasses import dataclass, field
from typing import Any

FieldType = str  # a Table Schema type: integer, number, string, boolean, datetime, date, ...

SCHEMA_VERSION = "1.0.0"


@dataclass(frozen=True, slots=True)
class Col:
    name: str
    sql: str
    type: FieldType
    description: str
    required: bool = False

    def select_sql(self) -> str:
        expr = self.sql
        if self.type == "datetime":
            expr = f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        elif self.type == "date":
            expr = f"to_char(({expr}), 'YYYY-MM-DD')"
        return f'{expr} AS "{self.name}"'

    def csv_sql(self) -> str:
        ref = f't."{self.name}"'
        if self.type == "boolean":
            return f"CASE WHEN {ref} THEN 'true' WHEN NOT {ref} THEN 'false' END AS \"{self.name}\""
        return ref

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
        }
        if self.required:
            out["constraints"] = {"required": True}
        return out


@dataclass(frozen=True, slots=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    reference: tuple[str, ...] = ("id",)


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    title: str
    description: str
    columns: tuple[Col, ...]
    from_sql: str  # FROM ... [WHERE ...] [GROUP BY ...], with $CALL and $KEY placeholders
    primary_key: tuple[str, ...] = ("id",)
    foreign_keys: tuple[ForeignKey, ...] = field(default=())
    order_by: tuple[str, ...] = ()  # default: the primary key

    @property
    def field_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [c.descriptor() for c in self.columns],
            "missingValues": [""],
            "primaryKey": list(self.primary_key),
        }
        if self.foreign_keys:
            schema["foreignKeys"] = [
                {
                    "fields": list(fk.fields),
                    "reference": {"resource": fk.resource, "fields": list(fk.reference)},
                }
                for fk in self.foreign_keys
            ]
        return schema

    def inner_sql(self, *, call_id: int | None, key: str) -> str:
        select = ",\n  ".join(c.select_sql() for c in self.columns)
        return sql_for(f"SELECT\n  {select}\n{self.from_sql}", call_id=call_id, key=key)

    def order_sql(self) -> str:
        return ", ".join(f't."{name}"' for name in self.order_by or self.primary_key)

    def csv_sql(self, *, call_id: int | None, key: str) -> str:
        """The rows as COPY ... CSV should write them (booleans as true/false)."""
        cols = ", ".join(c.csv_sql() for c in self.columns)
        inner = self.inner_sql(call_id=call_id, key=key)
        return f"SELECT {cols} FROM (\n{inner}\n) AS t ORDER BY {self.order_sql()}"  # noqa: S608

    def jsonl_sql(self, *, call_id: int | None, key: str) -> str:
        """One JSON object per row, keys in column order (``to_json`` keeps them; jsonb would
        not), nested JSON for JSON columns and native numbers and booleans."""
        inner = self.inner_sql(call_id=call_id, key=key)
        return f"SELECT to_json(t)::text FROM (\n{inner}\n) AS t ORDER BY {self.order_sql()}"  # noqa: S608

    def preview_sql(self, *, call_id: int | None, key: str, limit: int) -> str:
        cols = ", ".join(f'"{c.name}"::text' for c in self.columns)
        csv = self.csv_sql(call_id=call_id, key=key)
        return f"SELECT {cols} FROM (\n{csv}\n) AS p LIMIT {int(limit)}"  # noqa: S608


_HEX = re.compile(r"^[0-9a-f]{16,128}$")


def sql_for(template: str, *, call_id: int | None, key: str) -> str:
    """Fill the placeholders with literals: an int (or NULL) and a hex string, nothing else."""
    if not _HEX.match(key):
        raise ValueError("the anonymisation key must be lower-case hex")
    call = "NULL::int" if call_id is None else f"{int(call_id)}::int"
    return template.replace("$CALL", call).replace("$KEY", f"'{key}'::text")


def public_idea(alias: str) -> str:
    return f"{alias}.published_at IS NOT NULL AND {alias}.hidden_at IS NULL"


def _idea_link(alias: str) -> str:
    """Join condition for an optional link to an idea: kept only if that idea is exported."""
    return f"{public_idea(alias)} AND ($CALL IS NULL OR {alias}.call_id = $CALL)"


def _col(name: str, sql: str, type_: FieldType, description: str, required: bool = False) -> Col:
    return Col(name, sql, type_, description, required)


# A cast ballot's id in the export: a keyed hash of the row, so the same row keeps its id from
# one export to the next while telling nothing about who cast it or when.
ANON_CAST_ID = (
    "left(encode(sha256(convert_to($KEY || ':' || cb.ballot_id::text || ':' || cb.id::text, "
    "'UTF8')), 'hex'), 32)"
)
PUBLISHED_BALLOT = "b.status = 'published'"
PUBLIC_CAST = f"{PUBLISHED_BALLOT} AND NOT b.secret"

# Personas that authored something exported (ideas, visible comments, public cast ballots).
PERSONAS_IN_USE = f"""
  SELECT i.author_persona_id FROM ideas i
   WHERE {public_idea("i")} AND ($CALL IS NULL OR i.call_id = $CALL)
  UNION
  SELECT c.author_persona_id FROM comments c JOIN ideas i ON i.id = c.idea_id
   WHERE {public_idea("i")} AND ($CALL IS NULL OR i.call_id = $CALL)
     AND c.deleted_at IS NULL AND c.hidden_at IS NULL
  UNION
  SELECT cb.persona_id FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id
   WHERE {PUBLIC_CAST} AND cb.persona_id IS NOT NULL AND ($CALL IS NULL OR b.call_id = $CALL)
"""  # noqa: S608 - constants only; the one value is filled by sql_for

VISIBLE_COMMENT = "c.deleted_at IS NULL AND c.hidden_at IS NULL"


def _visible(expr: str) -> str:
    return f"CASE WHEN {VISIBLE_COMMENT} THEN {expr} END"


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "regions",
        "Regions",
        "The areas calls are held in.",
        (
            _col("id", "r.id", "integer", "Region id.", True),
            _col("slug", "r.slug", "string", "Short name used in addresses.", True),
            _col("name", "r.name", "string", "Name of the region.", True),
            _col("created_at", "r.created_at", "datetime", "When the region was added (UTC)."),
        ),
        """FROM regions r
WHERE $CALL IS NULL OR r.id IN (
  SELECT c.region_id FROM calls c WHERE c.id = $CALL
  UNION SELECT o.region_id FROM organisers o JOIN calls c ON c.organiser_id = o.id
        WHERE c.id = $CALL)""",
    ),
    Resource(
        "organisers",
        "Organisers",
        "Councils, partnerships and other bodies that run calls.",
        (
            _col("id", "o.id", "integer", "Organiser id.", True),
            _col("slug", "o.slug", "string", "Short name used in addresses.", True),
            _col("name", "o.name", "string", "Name of the organiser.", True),
            _col("region_id", "o.region_id", "integer", "Region of the organiser.", True),
            _col("website", "o.website", "string", "The organiser's website, if given."),
            _col("created_at", "o.created_at", "datetime", "When the organiser was added (UTC)."),
        ),
        """FROM organisers o
WHERE $CALL IS NULL OR o.id = (SELECT c.organiser_id FROM calls c WHERE c.id = $CALL)""",
        foreign_keys=(ForeignKey(("region_id",), "regions"),),
    ),
    Resource(
        "calls",
        "Calls",
        "Open calls for ideas, with their organiser, region and dates.",
        (
            _col("id", "c.id", "integer", "Call id.", True),
            _col("slug", "c.slug", "string", "Short name used in the call's address.", True),
            _col("title", "c.title", "string", "Title of the call.", True),
            _col("summary", "c.summary", "string", "One-paragraph summary.", True),
            _col("description", "c.description", "string", "Full description (Markdown)."),
            _col("organiser_id", "c.organiser_id", "integer", "Organiser running the call.", True),
            _col("region_id", "c.region_id", "integer", "Region the call is about.", True),
            _col("tags", "to_jsonb(c.tags)", "array", "Topics, as a JSON array of strings."),
            _col("image_url", "c.image_url", "string", "Address of the call's image, if any."),
            _col("image_alt", "c.image_alt", "string", "Text alternative of the image."),
            _col("opens_at", "c.opens_at", "datetime", "Start of the first phase (UTC).", True),
            _col("closes_at", "c.closes_at", "datetime", "End of the last phase (UTC).", True),
            _col("created_at", "c.created_at", "datetime", "When the call was created (UTC)."),
        ),
        "FROM calls c WHERE $CALL IS NULL OR c.id = $CALL",
        foreign_keys=(
            ForeignKey(("organiser_id",), "organisers"),
            ForeignKey(("region_id",), "regions"),
        ),
    ),
    Resource(
        "phases",
        "Phases",
        "The phases of each call (ideas, deliberation, event, voting, follow-up), in order.",
        (
            _col("id", "p.id", "integer", "Phase id.", True),
            _col("call_id", "p.call_id", "integer", "Call the phase belongs to.", True),
            _col("position", "p.position", "integer", "Order within the call, from 0.", True),
            _col(
                "kind",
                "p.kind::text",
                "string",
                "ideas, deliberation, event, voting or follow_up.",
                True,
            ),
            _col("title", "p.title", "string", "Title of the phase.", True),
            _col("description", "p.description", "string", "Description (Markdown)."),
            _col("starts_at", "p.starts_at", "datetime", "Start (UTC).", True),
            _col("ends_at", "p.ends_at", "datetime", "End (UTC).", True),
        ),
        "FROM phases p WHERE $CALL IS NULL OR p.call_id = $CALL",
        foreign_keys=(ForeignKey(("call_id",), "calls"),),
    ),
    Resource(
        "personas",
        "Personas",
        "The public names contributions are made under. The id is a stable pseudonym: it links a "
        "persona's contributions to each other, never to an account or a person. Deleted "
        'accounts\' contributions stay under personas named "Former participant".',
        (
            _col("id", "p.id", "integer", "Persona id (pseudonymous).", True),
            _col(
                "kind",
                "p.kind::text",
                "string",
                "resident, organisation, pseudonym or former (a deleted account).",
                True,
            ),
            _col(
                "display_name",
                "CASE WHEN p.kind = 'former' THEN 'Former participant' ELSE p.display_name END",
                "string",
                "The name shown with the persona's contributions.",
                True,
            ),
        ),
        f"FROM personas p WHERE p.id IN ({PERSONAS_IN_USE})",
    ),
    Resource(
        "ideas",
        "Ideas",
        "Published ideas (drafts and hidden ideas are not included), with their counters.",
        (
            _col("id", "i.id", "integer", "Idea id.", True),
            _col("call_id", "i.call_id", "integer", "Call the idea answers.", True),
            _col(
                "author_persona_id",
                "i.author_persona_id",
                "integer",
                "Persona of the author.",
                True,
            ),
            _col("title", "i.title", "string", "Title.", True),
            _col("body", "i.body", "string", "Text of the idea (Markdown)."),
            _col("tags", "to_jsonb(i.tags)", "array", "Tags, as a JSON array of strings."),
            _col("area", "i.area", "string", "Area the idea concerns, if given."),
            _col("latitude", "i.latitude", "number", "Latitude (WGS 84), if placed on a map."),
            _col("longitude", "i.longitude", "number", "Longitude (WGS 84), if placed on a map."),
            _col(
                "status",
                "i.status",
                "string",
                "open, or the outcome: under_consideration, "
                "accepted, partly_accepted, not_taken_forward or already_happening.",
                True,
            ),
            _col("version", "i.version", "integer", "Version number (1 + number of edits).", True),
            _col("endorsement_count", "i.endorsement_count", "integer", "Endorsements.", True),
            _col("comment_count", "i.comment_count", "integer", "Comments.", True),
            _col("published_at", "i.published_at", "datetime", "When published (UTC).", True),
            _col("updated_at", "i.updated_at", "datetime", "Last change (UTC).", True),
        ),
        f"FROM ideas i WHERE {public_idea('i')} AND ($CALL IS NULL OR i.call_id = $CALL)",
        foreign_keys=(
            ForeignKey(("call_id",), "calls"),
            ForeignKey(("author_persona_id",), "personas"),
        ),
    ),
    Resource(
        "comments",
        "Comments",
        "Comments and replies on published ideas. A deleted comment (tombstone) or a comment "
        "hidden by moderators keeps its place in the thread, so that replies keep their parent, "
        "but its body, stance, author and edit time are blank and `state` says why.",
        (
            _col("id", "c.id", "integer", "Comment id.", True),
            _col("idea_id", "c.idea_id", "integer", "Idea commented on.", True),
            _col("parent_id", "pc.id", "integer", "Comment replied to (blank: top level)."),
            _col(
                "state",
                "CASE WHEN c.deleted_at IS NOT NULL THEN 'deleted' "
                "WHEN c.hidden_at IS NOT NULL THEN 'hidden' ELSE 'published' END",
                "string",
                "published, deleted (by its author) or hidden (by moderators).",
                True,
            ),
            _col(
                "author_persona_id",
                _visible("c.author_persona_id"),
                "integer",
                "Persona of the author (blank unless published).",
            ),
            _col(
                "stance",
                _visible("c.stance::text"),
                "string",
                "for, against or neutral, if the author took a stance.",
            ),
            _col("body", _visible("c.body"), "string", "Text (Markdown); blank unless published."),
            _col("depth", "c.depth", "integer", "Depth in the thread (0: top level).", True),
            _col("created_at", "c.created_at", "datetime", "When posted (UTC).", True),
            _col("edited_at", _visible("c.edited_at"), "datetime", "Last edit (UTC)."),
        ),
        f"""FROM comments c
JOIN ideas i ON i.id = c.idea_id AND {public_idea("i")}
LEFT JOIN comments pc ON pc.id = c.parent_id AND pc.idea_id = c.idea_id
WHERE $CALL IS NULL OR i.call_id = $CALL""",
        foreign_keys=(
            ForeignKey(("idea_id",), "ideas"),
            ForeignKey(("parent_id",), "comments"),
            ForeignKey(("author_persona_id",), "personas"),
        ),
    ),
    Resource(
        "events",
        "Events",
        "In-person days of a call (such as an Open Ideas Day).",
        (
            _col("id", "e.id", "integer", "Event id.", True),
            _col("call_id", "e.call_id", "integer", "Call the event belongs to.", True),
            _col("title", "e.title", "string", "Title.", True),
            _col("description", "e.description", "string", "Description (Markdown)."),
            _col("starts_at", "e.starts_at", "datetime", "Start (UTC).", True),
            _col("ends_at", "e.ends_at", "datetime", "End (UTC).", True),
            _col("created_at", "e.created_at", "datetime", "When the event was created (UTC)."),
        ),
        "FROM events e WHERE $CALL IS NULL OR e.call_id = $CALL",
        foreign_keys=(ForeignKey(("call_id",), "calls"),),
    ),
    Resource(
        "venues",
        "Venues",
        "Where each event is held, with capacity and how many places are taken, waitlisted and "
        "attended (counts only: who registered is never published).",
        (
            _col("id", "v.id", "integer", "Venue id.", True),
            _col("event_id", "v.event_id", "integer", "Event held at the venue.", True),
            _col("name", "v.name", "string", "Name of the venue.", True),
            _col("address", "v.address", "string", "Address.", True),
            _col("accessibility", "v.accessibility", "string", "Accessibility information."),
            _col("capacity", "v.capacity", "integer", "Places available.", True),
            _col("places_taken", "v.registered", "integer", "Places taken by registrations.", True),
            _col(
                "waitlisted",
                "coalesce(reg.waitlisted, 0)",
                "integer",
                "Registrations on the waiting list.",
                True,
            ),
            _col(
                "attended",
                "coalesce(reg.attended, 0)",
                "integer",
                "Registrations checked in on the day.",
                True,
            ),
        ),
        """FROM venues v
JOIN events e ON e.id = v.event_id
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE r.status = 'waitlisted') AS waitlisted,
         count(*) FILTER (WHERE r.checked_in_at IS NOT NULL AND r.status <> 'cancelled')
           AS attended
  FROM registrations r WHERE r.venue_id = v.id) reg ON true
WHERE $CALL IS NULL OR e.call_id = $CALL""",
        foreign_keys=(ForeignKey(("event_id",), "events"),),
    ),
    Resource(
        "event_sessions",
        "Event sessions",
        "Sessions at each venue, usually on one idea, with the host's notes once posted.",
        (
            _col("id", "s.id", "integer", "Session id.", True),
            _col("venue_id", "s.venue_id", "integer", "Venue of the session.", True),
            _col("idea_id", "pi.id", "integer", "Idea discussed, if any (and published)."),
            _col("title", "s.title", "string", "Title.", True),
            _col("starts_at", "s.starts_at", "datetime", "Start (UTC).", True),
            _col("ends_at", "s.ends_at", "datetime", "End (UTC).", True),
            _col(
                "notes",
                "CASE WHEN s.notes_posted_at IS NOT NULL THEN s.notes END",
                "string",
                "The host's notes (Markdown), once posted.",
            ),
            _col(
                "notes_posted_at",
                "s.notes_posted_at",
                "datetime",
                "When the notes were posted (UTC).",
            ),
        ),
        f"""FROM event_sessions s
JOIN venues v ON v.id = s.venue_id
JOIN events e ON e.id = v.event_id
LEFT JOIN ideas pi ON pi.id = s.idea_id AND {_idea_link("pi")}
WHERE $CALL IS NULL OR e.call_id = $CALL""",
        foreign_keys=(ForeignKey(("venue_id",), "venues"), ForeignKey(("idea_id",), "ideas")),
    ),
    Resource(
        "solutions",
        "Solutions",
        "Solutions that came out of event sessions, linked to the idea they answer.",
        (
            _col("id", "so.id", "integer", "Solution id.", True),
            _col("session_id", "so.session_id", "integer", "Session it came from.", True),
            _col("idea_id", "pi.id", "integer", "Idea it answers, if any (and published)."),
            _col("title", "so.title", "string", "Title.", True),
            _col("body", "so.body", "string", "Description (Markdown)."),
            _col("created_at", "so.created_at", "datetime", "When recorded (UTC).", True),
        ),
        f"""FROM solutions so
JOIN event_sessions s ON s.id = so.session_id
JOIN venues v ON v.id = s.venue_id
JOIN events e ON e.id = v.event_id
LEFT JOIN ideas pi ON pi.id = so.idea_id AND {_idea_link("pi")}
WHERE $CALL IS NULL OR e.call_id = $CALL""",
        foreign_keys=(
            ForeignKey(("session_id",), "event_sessions"),
            ForeignKey(("idea_id",), "ideas"),
        ),
    ),
    Resource(
        "outcomes",
        "Outcomes",
        "What the council decided about each idea (the councillor's account is not published).",
        (
            _col("id", "o.id", "integer", "Outcome id.", True),
            _col("idea_id", "o.idea_id", "integer", "Idea answered.", True),
            _col(
                "status",
                "o.status::text",
                "string",
                "under_consideration, accepted, "
                "partly_accepted, not_taken_forward or already_happening.",
                True,
            ),
            _col("response", "o.response", "string", "The council's answer (Markdown).", True),
            _col(
                "decision_reference",
                "o.decision_reference",
                "string",
                "Reference of the decision, e.g. the address of the minutes.",
            ),
            _col("budget_line", "o.budget_line", "string", "Budget line, if any."),
            _col("decided_at", "o.decided_at", "datetime", "When decided (UTC).", True),
        ),
        f"""FROM outcomes o
JOIN ideas i ON i.id = o.idea_id AND {public_idea("i")}
WHERE $CALL IS NULL OR i.call_id = $CALL""",
        foreign_keys=(ForeignKey(("idea_id",), "ideas"),),
    ),
    Resource(
        "ballots",
        "Ballots",
        "Votes put to residents in a call's voting phase (drafts are not included).",
        (
            _col("id", "b.id", "integer", "Ballot id.", True),
            _col("call_id", "b.call_id", "integer", "Call of the ballot.", True),
            _col("phase_id", "b.phase_id", "integer", "Voting phase.", True),
            _col(
                "kind",
                "b.kind::text",
                "string",
                "support, approval, budgeting, ranked or statements.",
                True,
            ),
            _col("title", "b.title", "string", "Title.", True),
            _col("description", "b.description", "string", "Description (Markdown)."),
            _col("max_choices", "b.max_choices", "integer", "Most options one may choose."),
            _col("budget", "b.budget", "integer", "Budget to share, in pence (budgeting)."),
            _col("threshold", "b.threshold", "integer", "Supports an option needs (support)."),
            _col(
                "result_method",
                "b.result_method::text",
                "string",
                "totals, greedy, equal_shares, instant_runoff or opinion_groups.",
                True,
            ),
            _col(
                "eligibility",
                "b.eligibility",
                "object",
                "Who may vote: claims a verification "
                "must hold, as JSON ({} = any signed-in resident).",
            ),
            _col("secret", "b.secret", "boolean", "Whether the ballot is secret.", True),
            _col(
                "live_results",
                "b.live_results",
                "boolean",
                "Whether results show while voting is open.",
                True,
            ),
            _col("status", "b.status::text", "string", "open, closed or published.", True),
            _col("created_at", "b.created_at", "datetime", "When created (UTC).", True),
            _col("closed_at", "b.closed_at", "datetime", "When voting closed (UTC)."),
            _col(
                "published_at", "b.published_at", "datetime", "When the result was published (UTC)."
            ),
        ),
        "FROM ballots b WHERE b.status <> 'draft' AND ($CALL IS NULL OR b.call_id = $CALL)",
        foreign_keys=(ForeignKey(("call_id",), "calls"), ForeignKey(("phase_id",), "phases")),
    ),
    Resource(
        "ballot_options",
        "Ballot options",
        "The options (or statements) of each ballot.",
        (
            _col("id", "o.id", "integer", "Option id.", True),
            _col("ballot_id", "o.ballot_id", "integer", "Ballot.", True),
            _col("position", "o.position", "integer", "Order on the ballot.", True),
            _col("idea_id", "pi.id", "integer", "Idea the option puts to the vote, if any."),
            _col("title", "o.title", "string", "Title.", True),
            _col("description", "o.description", "string", "Description (Markdown)."),
            _col("cost", "o.cost", "integer", "Cost in pence (budgeting)."),
        ),
        f"""FROM ballot_options o
JOIN ballots b ON b.id = o.ballot_id AND b.status <> 'draft'
LEFT JOIN ideas pi ON pi.id = o.idea_id AND {_idea_link("pi")}
WHERE $CALL IS NULL OR b.call_id = $CALL""",
        foreign_keys=(ForeignKey(("ballot_id",), "ballots"), ForeignKey(("idea_id",), "ideas")),
    ),
    Resource(
        "cast_ballots",
        "Cast ballots",
        "Every ballot cast, once the ballot's result is published, so that anyone can recount "
        "it. On a public ballot each row names the persona that voted; on a secret ballot it "
        "does not, its times and number of changes are blank, and the id is an anonymous, "
        "stable key that reveals nothing about who voted or in which order.",
        (
            _col("id", ANON_CAST_ID, "string", "Anonymous id of the cast ballot.", True),
            _col("ballot_id", "cb.ballot_id", "integer", "Ballot.", True),
            _col(
                "persona_id",
                "CASE WHEN NOT b.secret THEN cb.persona_id END",
                "integer",
                "Persona that voted (public ballots only).",
            ),
            _col(
                "content",
                "cb.content",
                "any",
                "The choices, as JSON: option ids chosen "
                "(support, approval, budgeting), option ids in order of preference (ranked), "
                "or {option id: -1, 0 or 1} (statements).",
                True,
            ),
            _col(
                "changes",
                "CASE WHEN NOT b.secret THEN cb.changes END",
                "integer",
                "Times the voter changed their ballot (public ballots only).",
            ),
            _col(
                "cast_at",
                "CASE WHEN NOT b.secret THEN cb.cast_at END",
                "datetime",
                "When first cast (UTC; public ballots only).",
            ),
            _col(
                "updated_at",
                "CASE WHEN NOT b.secret THEN cb.updated_at END",
                "datetime",
                "Last change (UTC; public ballots only).",
            ),
        ),
        f"""FROM cast_ballots cb
JOIN ballots b ON b.id = cb.ballot_id AND {PUBLISHED_BALLOT}
WHERE $CALL IS NULL OR b.call_id = $CALL""",
        order_by=("ballot_id", "id"),
        foreign_keys=(
            ForeignKey(("ballot_id",), "ballots"),
            ForeignKey(("persona_id",), "personas"),
        ),
    ),
    Resource(
        "cast_ballot_choices",
        "Cast ballot choices",
        "The content of each cast ballot, one row per option: `cast_ballots` in long form.",
        (
            _col("cast_ballot_id", ANON_CAST_ID, "string", "Cast ballot (anonymous id).", True),
            _col("ballot_id", "cb.ballot_id", "integer", "Ballot.", True),
            _col("option_id", "o.id", "integer", "Option chosen, ranked or judged.", True),
            _col(
                "rank",
                "CASE WHEN b.kind = 'ranked' THEN min(x.ord) END",
                "integer",
                "Preference, 1 = first (ranked ballots).",
            ),
            _col(
                "value",
                "max(x.value)",
                "integer",
                "1 = chosen; for statements 1 agree, 0 pass, -1 disagree.",
            ),
        ),
        f"""FROM cast_ballots cb
JOIN ballots b ON b.id = cb.ballot_id AND {PUBLISHED_BALLOT}
CROSS JOIN LATERAL (
  SELECT a.v #>> '{{}}' AS option_key, a.ord, 1 AS value
    FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(cb.content) = 'array' THEN cb.content ELSE '[]'::jsonb END
    ) WITH ORDINALITY AS a(v, ord)
  UNION ALL
  SELECT s.k, NULL,
         CASE WHEN jsonb_typeof(s.v) = 'number' THEN round((s.v #>> '{{}}')::numeric)::int END
    FROM jsonb_each(
      CASE WHEN jsonb_typeof(cb.content) = 'object' THEN cb.content ELSE '{{}}'::jsonb END
    ) AS s(k, v)
) AS x
JOIN ballot_options o ON o.ballot_id = cb.ballot_id AND o.id::text = x.option_key
WHERE $CALL IS NULL OR b.call_id = $CALL
GROUP BY cb.ballot_id, cb.id, o.id, b.kind""",  # noqa: S608
        primary_key=("cast_ballot_id", "option_id"),
        order_by=("ballot_id", "cast_ballot_id", "option_id"),
        foreign_keys=(
            ForeignKey(("cast_ballot_id",), "cast_ballots"),
            ForeignKey(("ballot_id",), "ballots"),
            ForeignKey(("option_id",), "ballot_options"),
        ),
    ),
    Resource(
        "results",
        "Results",
        "The published result of each ballot, with the method and the SHA-256 of the exported "
        "ballots it was computed from.",
        (
            _col("ballot_id", "b.id", "integer", "Ballot.", True),
            _col("kind", "b.kind::text", "string", "Kind of ballot.", True),
            _col("method", "b.result_method::text", "string", "Counting method.", True),
            _col("result", "b.result", "object", "The result, as JSON."),
            _col(
                "export_sha256",
                "b.export_sha256",
                "string",
                "SHA-256 (hex) of the exported ballots file the result was computed from.",
            ),
            _col("closed_at", "b.closed_at", "datetime", "When voting closed (UTC)."),
            _col("published_at", "b.published_at", "datetime", "When published (UTC)."),
        ),
        f"FROM ballots b WHERE {PUBLISHED_BALLOT} AND ($CALL IS NULL OR b.call_id = $CALL)",
        primary_key=("ballot_id",),
        foreign_keys=(ForeignKey(("ballot_id",), "ballots"),),
    ),
    Resource(
        "daily_metrics",
        "Daily participation",
        "Per call and per day (UTC): ideas published, comments posted (still visible), "
        "endorsements (still standing), event registrations and ballots cast. Days without "
        "activity are left out.",
        (
            _col("call_id", "m.call_id", "integer", "Call.", True),
            _col("date", "m.day", "date", "Day (UTC).", True),
            _col(
                "ideas",
                "count(*) FILTER (WHERE m.what = 'ideas')",
                "integer",
                "Ideas published.",
                True,
            ),
            _col(
                "comments",
                "count(*) FILTER (WHERE m.what = 'comments')",
                "integer",
                "Comments posted.",
                True,
            ),
            _col(
                "endorsements",
                "count(*) FILTER (WHERE m.what = 'endorsements')",
                "integer",
                "Endorsements given.",
                True,
            ),
            _col(
                "registrations",
                "count(*) FILTER (WHERE m.what = 'registrations')",
                "integer",
                "Event registrations made.",
                True,
            ),
            _col(
                "ballots_cast",
                "count(*) FILTER (WHERE m.what = 'ballots')",
                "integer",
                "Ballots cast.",
                True,
            ),
        ),
        f"""FROM (
  SELECT i.call_id, (i.published_at AT TIME ZONE 'UTC')::date AS day, 'ideas' AS what
    FROM ideas i WHERE {public_idea("i")}
  UNION ALL
  SELECT i.call_id, (c.created_at AT TIME ZONE 'UTC')::date, 'comments'
    FROM comments c JOIN ideas i ON i.id = c.idea_id
   WHERE {public_idea("i")} AND {VISIBLE_COMMENT}
  UNION ALL
  SELECT i.call_id, (en.created_at AT TIME ZONE 'UTC')::date, 'endorsements'
    FROM endorsements en JOIN ideas i ON i.id = en.idea_id WHERE {public_idea("i")}
  UNION ALL
  SELECT e.call_id, (r.created_at AT TIME ZONE 'UTC')::date, 'registrations'
    FROM registrations r JOIN events e ON e.id = r.event_id
  UNION ALL
  SELECT b.call_id, (cb.cast_at AT TIME ZONE 'UTC')::date, 'ballots'
    FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id AND b.status <> 'draft'
) AS m
WHERE $CALL IS NULL OR m.call_id = $CALL
GROUP BY m.call_id, m.day""",  # noqa: S608
        primary_key=("call_id", "date"),
        foreign_keys=(ForeignKey(("call_id",), "calls"),),
    ),
)

BY_NAME: dict[str, Resource] = {r.name: r for r in RESOURCES}
