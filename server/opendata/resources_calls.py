"""Open data about calls: the regions and organisers they belong to, the calls, their phases."""

from __future__ import annotations

from server.opendata.resources_base import Col, ForeignKey, Resource

CALLS: tuple[Resource, ...] = (
    Resource(
        "regions",
        "Regions",
        "The areas calls are held in.",
        (
            Col("id", "r.id", "integer", "Region id.", True),
            Col("slug", "r.slug", "string", "Short name used in addresses.", True),
            Col("name", "r.name", "string", "Name of the region.", True),
            Col("created_at", "r.created_at", "datetime", "When the region was added (UTC)."),
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
            Col("id", "o.id", "integer", "Organiser id.", True),
            Col("slug", "o.slug", "string", "Short name used in addresses.", True),
            Col("name", "o.name", "string", "Name of the organiser.", True),
            Col("region_id", "o.region_id", "integer", "Region of the organiser.", True),
            Col("website", "o.website", "string", "The organiser's website, if given."),
            Col("created_at", "o.created_at", "datetime", "When the organiser was added (UTC)."),
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
            Col("id", "c.id", "integer", "Call id.", True),
            Col("slug", "c.slug", "string", "Short name used in the call's address.", True),
            Col("title", "c.title", "string", "Title of the call.", True),
            Col("summary", "c.summary", "string", "One-paragraph summary.", True),
            Col("description", "c.description", "string", "Full description (Markdown)."),
            Col("organiser_id", "c.organiser_id", "integer", "Organiser running the call.", True),
            Col("region_id", "c.region_id", "integer", "Region the call is about.", True),
            Col("tags", "to_jsonb(c.tags)", "array", "Topics, as a JSON array of strings."),
            Col("image_url", "c.image_url", "string", "Address of the call's image, if any."),
            Col("image_alt", "c.image_alt", "string", "Text alternative of the image."),
            Col("opens_at", "c.opens_at", "datetime", "Start of the first phase (UTC).", True),
            Col("closes_at", "c.closes_at", "datetime", "End of the last phase (UTC).", True),
            Col("created_at", "c.created_at", "datetime", "When the call was created (UTC)."),
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
            Col("id", "p.id", "integer", "Phase id.", True),
            Col("call_id", "p.call_id", "integer", "Call the phase belongs to.", True),
            Col("position", "p.position", "integer", "Order within the call, from 0.", True),
            Col(
                "kind",
                "p.kind::text",
                "string",
                "ideas, deliberation, event, voting or follow_up.",
                True,
            ),
            Col("title", "p.title", "string", "Title of the phase.", True),
            Col("description", "p.description", "string", "Description (Markdown)."),
            Col("starts_at", "p.starts_at", "datetime", "Start (UTC).", True),
            Col("ends_at", "p.ends_at", "datetime", "End (UTC).", True),
        ),
        "FROM phases p WHERE $CALL IS NULL OR p.call_id = $CALL",
        foreign_keys=(ForeignKey(("call_id",), "calls"),),
    ),
)
