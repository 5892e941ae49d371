"""Open data about votes: ballots, their options, the cast ballots (once the result is
published; anonymous on secret ballots), cast ballots in long form, and the results."""

from __future__ import annotations

from server.opendata.resources_base import (
    PUBLISHED_BALLOT,
    Col,
    ForeignKey,
    Resource,
    idea_link,
)

# A cast ballot's id in the export: a keyed hash of the row, so the same row keeps its id from
# one export to the next while telling nothing about who cast it or when.
ANON_CAST_ID = (
    "left(encode(sha256(convert_to($KEY || ':' || cb.ballot_id::text || ':' || cb.id::text, "
    "'UTF8')), 'hex'), 32)"
)


VOTES: tuple[Resource, ...] = (
    Resource(
        "ballots",
        "Ballots",
        "Votes put to residents in a call's voting phase (drafts are not included).",
        (
            Col("id", "b.id", "integer", "Ballot id.", True),
            Col("call_id", "b.call_id", "integer", "Call of the ballot.", True),
            Col("phase_id", "b.phase_id", "integer", "Voting phase.", True),
            Col(
                "kind",
                "b.kind::text",
                "string",
                "support, approval, budgeting, ranked or statements.",
                True,
            ),
            Col("title", "b.title", "string", "Title.", True),
            Col("description", "b.description", "string", "Description (Markdown)."),
            Col("max_choices", "b.max_choices", "integer", "Most options one may choose."),
            Col("budget", "b.budget", "integer", "Budget to share, in pence (budgeting)."),
            Col("threshold", "b.threshold", "integer", "Supports an option needs (support)."),
            Col(
                "result_method",
                "b.result_method::text",
                "string",
                "totals, greedy, equal_shares, instant_runoff or opinion_groups.",
                True,
            ),
            Col(
                "eligibility",
                "b.eligibility",
                "object",
                "Who may vote: claims a verification "
                "must hold, as JSON ({} = any signed-in resident).",
            ),
            Col("secret", "b.secret", "boolean", "Whether the ballot is secret.", True),
            Col(
                "live_results",
                "b.live_results",
                "boolean",
                "Whether results show while voting is open.",
                True,
            ),
            Col("status", "b.status::text", "string", "open, closed or published.", True),
            Col("created_at", "b.created_at", "datetime", "When created (UTC).", True),
            Col("closed_at", "b.closed_at", "datetime", "When voting closed (UTC)."),
            Col(
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
            Col("id", "o.id", "integer", "Option id.", True),
            Col("ballot_id", "o.ballot_id", "integer", "Ballot.", True),
            Col("position", "o.position", "integer", "Order on the ballot.", True),
            Col("idea_id", "pi.id", "integer", "Idea the option puts to the vote, if any."),
            Col("title", "o.title", "string", "Title.", True),
            Col("description", "o.description", "string", "Description (Markdown)."),
            Col("cost", "o.cost", "integer", "Cost in pence (budgeting)."),
        ),
        f"""FROM ballot_options o
JOIN ballots b ON b.id = o.ballot_id AND b.status <> 'draft'
LEFT JOIN ideas pi ON pi.id = o.idea_id AND {idea_link("pi")}
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
            Col("id", ANON_CAST_ID, "string", "Anonymous id of the cast ballot.", True),
            Col("ballot_id", "cb.ballot_id", "integer", "Ballot.", True),
            Col(
                "persona_id",
                "CASE WHEN NOT b.secret THEN cb.persona_id END",
                "integer",
                "Persona that voted (public ballots only).",
            ),
            Col(
                "content",
                "cb.content",
                "any",
                "The choices, as JSON: option ids chosen "
                "(support, approval, budgeting), option ids in order of preference (ranked), "
                "or {option id: -1, 0 or 1} (statements).",
                True,
            ),
            Col(
                "changes",
                "CASE WHEN NOT b.secret THEN cb.changes END",
                "integer",
                "Times the voter changed their ballot (public ballots only).",
            ),
            Col(
                "cast_at",
                "CASE WHEN NOT b.secret THEN cb.cast_at END",
                "datetime",
                "When first cast (UTC; public ballots only).",
            ),
            Col(
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
            Col("cast_ballot_id", ANON_CAST_ID, "string", "Cast ballot (anonymous id).", True),
            Col("ballot_id", "cb.ballot_id", "integer", "Ballot.", True),
            Col("option_id", "o.id", "integer", "Option chosen, ranked or judged.", True),
            Col(
                "rank",
                "CASE WHEN b.kind = 'ranked' THEN min(x.ord) END",
                "integer",
                "Preference, 1 = first (ranked ballots).",
            ),
            Col(
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
            Col("ballot_id", "b.id", "integer", "Ballot.", True),
            Col("kind", "b.kind::text", "string", "Kind of ballot.", True),
            Col("method", "b.result_method::text", "string", "Counting method.", True),
            Col("result", "b.result", "object", "The result, as JSON."),
            Col(
                "export_sha256",
                "b.export_sha256",
                "string",
                "SHA-256 (hex) of the exported ballots file the result was computed from.",
            ),
            Col("closed_at", "b.closed_at", "datetime", "When voting closed (UTC)."),
            Col("published_at", "b.published_at", "datetime", "When published (UTC)."),
        ),
        f"FROM ballots b WHERE {PUBLISHED_BALLOT} AND ($CALL IS NULL OR b.call_id = $CALL)",
        primary_key=("ballot_id",),
        foreign_keys=(ForeignKey(("ballot_id",), "ballots"),),
    ),
)
