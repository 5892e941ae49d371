from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import RowNode
from server.errors import ValidationFailed
from server.identity.models import TokenScope
from server.personas import loaders, service
from server.personas.models import Persona as PersonaRow
from server.personas.models import PersonaKind

strawberry.enum(
    PersonaKind,
    description="How a persona speaks: as a resident, for an organisation, "
    "under a pseudonym, or as a former participant whose account was deleted.",
)


@strawberry.type(description="How someone appears in public. Never linked to an account.")
class Persona(RowNode):
    loader = staticmethod(loaders.persona_by_id)
    id: relay.NodeID[int]
    kind: PersonaKind = strawberry.field(description="Resident, organisation or pseudonym.")
    display_name: str = strawberry.field(description="The name shown with contributions.")
    description: str = strawberry.field(description="What the persona says about itself.")
    avatar_colour: str = strawberry.field(description="Colour shown beside the name (#rrggbb).")
    verified: bool = strawberry.field(description="Whether a verification backs this persona.")
    created_at: dt.datetime = strawberry.field(description="When the persona was created.")

    @classmethod
    def from_row(cls, row: PersonaRow) -> Self:
        return cls(
            id=row.id,
            kind=row.kind,
            display_name=row.display_name,
            description=row.description,
            avatar_colour=row.avatar_colour,
            verified=row.verification_id is not None,
            created_at=row.created_at,
        )


@strawberry.input(description="What a persona shows.")
class PersonaInput:
    display_name: str = strawberry.field(description="The name shown with contributions.")
    description: str = strawberry.field(default="", description="Optional, up to 500 chars.")
    avatar_colour: str = strawberry.field(default="#0b4f6c", description="#rrggbb")
    verification_id: int | None = strawberry.field(
        default=None, description="One of your verifications (required for an organisation)."
    )


@strawberry.type(description="The result of changing a persona.")
class PersonaPayload:
    persona: Persona | None = strawberry.field(description="The persona, when it changed.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


def _data(kind: PersonaKind, data: PersonaInput) -> service.PersonaInput:
    return service.PersonaInput(
        kind=kind,
        display_name=data.display_name,
        description=data.description,
        avatar_colour=data.avatar_colour,
        verification_id=data.verification_id,
    )


def _own_id(persona_id: relay.GlobalID) -> int:
    if persona_id.type_name != "Persona" or not persona_id.node_id.isdigit():
        raise ValidationFailed("That is not a persona id.", field="id")
    return int(persona_id.node_id)


@strawberry.type
class PersonaMutations:
    @strawberry.mutation(description="Create a persona for the signed-in account.")
    async def create_persona(
        self, info: Info, kind: PersonaKind, input: PersonaInput
    ) -> PersonaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> PersonaRow:
            async with info.context.db.session() as session, session.begin():
                return await service.create_persona(
                    session, account, _data(kind, input), now=info.context.now
                )

        row, errors = await attempt(work)
        return PersonaPayload(persona=Persona.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Change one of your personas (its kind cannot change).")
    async def update_persona(
        self, info: Info, id: relay.GlobalID, input: PersonaInput
    ) -> PersonaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> PersonaRow:
            persona_id = _own_id(id)
            async with info.context.db.session() as session, session.begin():
                current = await service.own_persona(session, account, persona_id)
                return await service.update_persona(
                    session, account, persona_id, _data(current.kind, input), now=info.context.now
                )

        row, errors = await attempt(work)
        return PersonaPayload(persona=Persona.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Archive a persona: its contributions stay, it cannot act.")
    async def archive_persona(self, info: Info, id: relay.GlobalID) -> PersonaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> PersonaRow:
            persona_id = _own_id(id)
            async with info.context.db.session() as session, session.begin():
                return await service.archive_persona(
                    session, account, persona_id, now=info.context.now
                )

        row, errors = await attempt(work)
        return PersonaPayload(persona=Persona.from_row(row) if row else None, errors=errors)
