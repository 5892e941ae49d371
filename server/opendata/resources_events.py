"""Open data about events: the events, their venues (counts only), sessions and solutions."""

from __future__ import annotations

from server.opendata.resources_base import Col, ForeignKey, Resource, idea_link

EVENTS: tuple[Resource, ...] = (
    Resource(
        "events",
        "Events",
        "In-person days of a call (such as an Open Ideas Day).",
        (
            Col("id", "e.id", "integer", "Event id.", True),
            Col("call_id", "e.call_id", "integer", "Call the event belongs to.", True),
            Col("title", "e.title", "string", "Title.", True),
            Col("description", "e.description", "string", "Description (Markdown)."),
            Col("starts_at", "e.starts_at", "datetime", "Start (UTC).", True),
            Col("ends_at", "e.ends_at", "datetime", "End (UTC).", True),
            Col("created_at", "e.created_at", "datetime", "When the event was created (UTC)."),
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
            Col("id", "v.id", "integer", "Venue id.", True),
            Col("event_id", "v.event_id", "integer", "Event held at the venue.", True),
            Col("name", "v.name", "string", "Name of the venue.", True),
            Col("address", "v.address", "string", "Address.", True),
            Col("accessibility", "v.accessibility", "string", "Accessibility information."),
            Col("capacity", "v.capacity", "integer", "Places available.", True),
            Col("places_taken", "v.registered", "integer", "Places taken by registrations.", True),
            Col(
                "waitlisted",
                "coalesce(reg.waitlisted, 0)",
                "integer",
                "Registrations on the waiting list.",
                True,
            ),
            Col(
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
            Col("id", "s.id", "integer", "Session id.", True),
            Col("venue_id", "s.venue_id", "integer", "Venue of the session.", True),
            Col("idea_id", "pi.id", "integer", "Idea discussed, if any (and published)."),
            Col("title", "s.title", "string", "Title.", True),
            Col("starts_at", "s.starts_at", "datetime", "Start (UTC).", True),
            Col("ends_at", "s.ends_at", "datetime", "End (UTC).", True),
            Col(
                "notes",
                "CASE WHEN s.notes_posted_at IS NOT NULL THEN s.notes END",
                "string",
                "The host's notes (Markdown), once posted.",
            ),
            Col(
                "notes_posted_at",
                "s.notes_posted_at",
                "datetime",
                "When the notes were posted (UTC).",
            ),
        ),
        f"""FROM event_sessions s
JOIN venues v ON v.id = s.venue_id
JOIN events e ON e.id = v.event_id
LEFT JOIN ideas pi ON pi.id = s.idea_id AND {idea_link("pi")}
WHERE $CALL IS NULL OR e.call_id = $CALL""",
        foreign_keys=(ForeignKey(("venue_id",), "venues"), ForeignKey(("idea_id",), "ideas")),
    ),
    Resource(
        "solutions",
        "Solutions",
        "Solutions that came out of event sessions, linked to the idea they answer.",
        (
            Col("id", "so.id", "integer", "Solution id.", True),
            Col("session_id", "so.session_id", "integer", "Session it came from.", True),
            Col("idea_id", "pi.id", "integer", "Idea it answers, if any (and published)."),
            Col("title", "so.title", "string", "Title.", True),
            Col("body", "so.body", "string", "Description (Markdown)."),
            Col("created_at", "so.created_at", "datetime", "When recorded (UTC).", True),
        ),
        f"""FROM solutions so
JOIN event_sessions s ON s.id = so.session_id
JOIN venues v ON v.id = s.venue_id
JOIN events e ON e.id = v.event_id
LEFT JOIN ideas pi ON pi.id = so.idea_id AND {idea_link("pi")}
WHERE $CALL IS NULL OR e.call_id = $CALL""",
        foreign_keys=(
            ForeignKey(("session_id",), "event_sessions"),
            ForeignKey(("idea_id",), "ideas"),
        ),
    ),
)
