"""Open data about ideas: the personas that contributed, published ideas and their comments,
and the outcomes (what was decided about each idea)."""

from __future__ import annotations

from server.opendata.resources_base import (
    PUBLIC_CAST,
    VISIBLE_COMMENT,
    Col,
    ForeignKey,
    Resource,
    public_idea,
)

# Personas that authored something exported (ideas, visible comments, public cast ballots).
PERSONAS_IN_USE = f"""
  SELECT i.author_persona_id FROM ideas i
   WHERE {public_idea("i")} AND ($CALL IS NULL OR i.call_id = $CALL)
  UNION
  SELECT c.author_persona_id FROM comments c JOIN ideas i ON i.id = c.idea_id
   WHERE {public_idea("i")} AND ($CALL IS NULL OR i.call_id = $CALL)
     AND {VISIBLE_COMMENT}
  UNION
  SELECT cb.persona_id FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id
   WHERE {PUBLIC_CAST} AND cb.persona_id IS NOT NULL AND ($CALL IS NULL OR b.call_id = $CALL)
"""  # noqa: S608 - constants only; the one value is filled by sql_for


def visible(expr: str) -> str:
    """A comment's column, blank unless the comment is published (not deleted, not hidden)."""
    return f"CASE WHEN {VISIBLE_COMMENT} THEN {expr} END"


IDEAS: tuple[Resource, ...] = (
    Resource(
        "personas",
        "Personas",
        "The public names contributions are made under. The id is a stable pseudonym: it links a "
        "persona's contributions to each other, never to an account or a person. Deleted "
        'accounts\' contributions stay under personas named "Former participant".',
        (
            Col("id", "p.id", "integer", "Persona id (pseudonymous).", True),
            Col(
                "kind",
                "p.kind::text",
                "string",
                "resident, organisation, pseudonym or former (a deleted account).",
                True,
            ),
            Col(
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
            Col("id", "i.id", "integer", "Idea id.", True),
            Col("call_id", "i.call_id", "integer", "Call the idea answers.", True),
            Col(
                "author_persona_id",
                "i.author_persona_id",
                "integer",
                "Persona of the author.",
                True,
            ),
            Col("title", "i.title", "string", "Title.", True),
            Col("body", "i.body", "string", "Text of the idea (Markdown)."),
            Col("tags", "to_jsonb(i.tags)", "array", "Tags, as a JSON array of strings."),
            Col("area", "i.area", "string", "Area the idea concerns, if given."),
            Col("latitude", "i.latitude", "number", "Latitude (WGS 84), if placed on a map."),
            Col("longitude", "i.longitude", "number", "Longitude (WGS 84), if placed on a map."),
            Col(
                "status",
                "i.status",
                "string",
                "open, or the outcome: under_consideration, "
                "accepted, partly_accepted, not_taken_forward or already_happening.",
                True,
            ),
            Col("version", "i.version", "integer", "Version number (1 + number of edits).", True),
            Col("endorsement_count", "i.endorsement_count", "integer", "Endorsements.", True),
            Col("comment_count", "i.comment_count", "integer", "Comments.", True),
            Col("published_at", "i.published_at", "datetime", "When published (UTC).", True),
            Col("updated_at", "i.updated_at", "datetime", "Last change (UTC).", True),
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
            Col("id", "c.id", "integer", "Comment id.", True),
            Col("idea_id", "c.idea_id", "integer", "Idea commented on.", True),
            Col("parent_id", "pc.id", "integer", "Comment replied to (blank: top level)."),
            Col(
                "state",
                "CASE WHEN c.deleted_at IS NOT NULL THEN 'deleted' "
                "WHEN c.hidden_at IS NOT NULL THEN 'hidden' ELSE 'published' END",
                "string",
                "published, deleted (by its author) or hidden (by moderators).",
                True,
            ),
            Col(
                "author_persona_id",
                visible("c.author_persona_id"),
                "integer",
                "Persona of the author (blank unless published).",
            ),
            Col(
                "stance",
                visible("c.stance::text"),
                "string",
                "for, against or neutral, if the author took a stance.",
            ),
            Col("body", visible("c.body"), "string", "Text (Markdown); blank unless published."),
            Col("depth", "c.depth", "integer", "Depth in the thread (0: top level).", True),
            Col("created_at", "c.created_at", "datetime", "When posted (UTC).", True),
            Col("edited_at", visible("c.edited_at"), "datetime", "Last edit (UTC)."),
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
)

OUTCOMES: tuple[Resource, ...] = (
    Resource(
        "outcomes",
        "Outcomes",
        "What the council decided about each idea (the councillor's account is not published).",
        (
            Col("id", "o.id", "integer", "Outcome id.", True),
            Col("idea_id", "o.idea_id", "integer", "Idea answered.", True),
            Col(
                "status",
                "o.status::text",
                "string",
                "under_consideration, accepted, "
                "partly_accepted, not_taken_forward or already_happening.",
                True,
            ),
            Col("response", "o.response", "string", "The council's answer (Markdown).", True),
            Col(
                "decision_reference",
                "o.decision_reference",
                "string",
                "Reference of the decision, e.g. the address of the minutes.",
            ),
            Col("budget_line", "o.budget_line", "string", "Budget line, if any."),
            Col("decided_at", "o.decided_at", "datetime", "When decided (UTC).", True),
        ),
        f"""FROM outcomes o
JOIN ideas i ON i.id = o.idea_id AND {public_idea("i")}
WHERE $CALL IS NULL OR i.call_id = $CALL""",
        foreign_keys=(ForeignKey(("idea_id",), "ideas"),),
    ),
)
