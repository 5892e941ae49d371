"""Open data about participation: per call and per day counts."""

from __future__ import annotations

from server.opendata.resources_base import (
    VISIBLE_COMMENT,
    Col,
    ForeignKey,
    Resource,
    public_idea,
)

METRICS: tuple[Resource, ...] = (
    Resource(
        "daily_metrics",
        "Daily participation",
        "Per call and per day (UTC): ideas published, comments posted (still visible), "
        "endorsements (still standing), event registrations and ballots cast. Days without "
        "activity are left out.",
        (
            Col("call_id", "m.call_id", "integer", "Call.", True),
            Col("date", "m.day", "date", "Day (UTC).", True),
            Col(
                "ideas",
                "count(*) FILTER (WHERE m.what = 'ideas')",
                "integer",
                "Ideas published.",
                True,
            ),
            Col(
                "comments",
                "count(*) FILTER (WHERE m.what = 'comments')",
                "integer",
                "Comments posted.",
                True,
            ),
            Col(
                "endorsements",
                "count(*) FILTER (WHERE m.what = 'endorsements')",
                "integer",
                "Endorsements given.",
                True,
            ),
            Col(
                "registrations",
                "count(*) FILTER (WHERE m.what = 'registrations')",
                "integer",
                "Event registrations made.",
                True,
            ),
            Col(
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
