from __future__ import annotations

import datetime as dt
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.errors import ValidationFailed
from server.identity import codes, privacy, registers, throttle, tokens
from server.identity.models import Account, TokenScope, Verification, VerificationConflict
from server.identity.verification import IdentityInUse, live_verifications
from server.personas import service as personas
from server.personas.gql import Persona


@strawberry.type(description="A verification held by the signed-in person.")
class VerificationInfo:
    method: str = strawberry.field(description="register, code or oidc.")
    claims: JSON = strawberry.field(description="What it verified, e.g. {postcode_area: EX}.")
    verified_at: dt.datetime = strawberry.field(description="When.")
    expires_at: dt.datetime | None = strawberry.field(description="Until when, if it expires.")


@strawberry.type(
    description="One of your personal access tokens (the token itself is never shown again)."
)
class ApiTokenInfo:
    id: int = strawberry.field(description="Use with revokeApiToken.")
    name: str = strawberry.field(description="What you called it.")
    scopes: list[str] = strawberry.field(description="read, participate, moderate.")
    created_at: dt.datetime = strawberry.field(description="When it was made.")
    expires_at: dt.datetime = strawberry.field(description="When it stops working.")
    revoked_at: dt.datetime | None = strawberry.field(description="When it was revoked, if so.")
    last_used_at: dt.datetime | None = strawberry.field(description="Last use (to the minute).")


@strawberry.type(description="The signed-in account: visible only to itself.")
class Viewer:
    account_id: strawberry.Private[int]
    email: str | None = strawberry.field(description="Your email address.")
    verified: bool = strawberry.field(description="Whether you hold a current verification.")

    @strawberry.field(description="Your personas, archived ones included.")
    async def personas(self, info: Info) -> list[Persona]:
        async with info.context.db.session() as session:
            rows = await personas.personas_of(session, self.account_id, include_archived=True)
        return [Persona.from_row(r) for r in rows]

    @strawberry.field(description="Your current verifications.")
    async def verifications(self, info: Info) -> list[VerificationInfo]:
        account = info.context.require(TokenScope.READ)
        if account.person_id is None:
            return []
        async with info.context.db.session() as session:
            rows = await live_verifications(session, account.person_id, now=info.context.now)
        return [
            VerificationInfo(
                method=v.method,
                claims=cast(JSON, v.claims),
                verified_at=v.verified_at,
                expires_at=v.expires_at,
            )
            for v in rows
        ]

    @strawberry.field(description="Your personal access tokens.")
    async def api_tokens(self, info: Info) -> list[ApiTokenInfo]:
        account = info.context.require(TokenScope.READ)
        async with info.context.db.session() as session:
            rows = await tokens.list_tokens(session, account)
        return [
            ApiTokenInfo(
                id=t.id,
                name=t.name,
                scopes=list(t.scopes),
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked_at=t.revoked_at,
                last_used_at=t.last_used_at,
            )
            for t in rows
        ]

    @strawberry.field(description="Everything Moot holds about you, as in 'Download my data'.")
    async def export_data(self, info: Info) -> JSON:
        account = info.context.require(TokenScope.READ)
        async with info.context.db.session() as session:
            data: dict[str, Any] = await privacy.export_account(session, account)
        return cast(JSON, data)


async def _viewer(info: Info, account: Account) -> Viewer:
    async with info.context.db.session() as session:
        verified = bool(
            account.person_id
            and await live_verifications(session, account.person_id, now=info.context.now)
        )
    return Viewer(account_id=account.id, email=account.email, verified=verified)


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="The signed-in account, or null for anonymous callers.")
    async def viewer(self, info: Info) -> Viewer | None:
        account = info.context.caller.account
        return await _viewer(info, account) if account else None


@strawberry.type(description="The result of a verification attempt.")
class VerifyPayload:
    verification: VerificationInfo | None = strawberry.field(description="What was verified.")
    errors: list[UserError] = strawberry.field(description="Why nothing was verified.")


def _verify_result(result: Verification | VerificationConflict) -> VerifyPayload:
    if isinstance(result, VerificationConflict):
        error = IdentityInUse()
        return VerifyPayload(
            verification=None,
            errors=[UserError(field=None, message=error.message, code=error.code)],
        )
    return VerifyPayload(
        verification=VerificationInfo(
            method=result.method,
            claims=cast(JSON, result.claims),
            verified_at=result.verified_at,
            expires_at=result.expires_at,
        ),
        errors=[],
    )


@strawberry.type(description="The result of revoking a token.")
class RevokeApiTokenPayload:
    token: ApiTokenInfo | None = strawberry.field(description="The revoked token.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of deleting your account.")
class DeleteAccountPayload:
    deleted: bool = strawberry.field(description="True once the account is gone.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type
class IdentityMutations:
    @strawberry.mutation(description="Verify yourself with a one-time code (letter or venue).")
    async def redeem_verification_code(self, info: Info, code: str) -> VerifyPayload:
        account = info.context.require(TokenScope.PARTICIPATE)
        keys = info.context.request.app.state.keys

        async def work() -> VerifyPayload:
            async with info.context.db.session() as session, session.begin():
                fresh = await session.get(Account, account.id, with_for_update=True)
                assert fresh is not None
                # A conflict is kept (committed) for moderators, then reported as an error.
                return _verify_result(
                    await codes.redeem_code(session, keys, fresh, code, now=info.context.now)
                )

        payload, errors = await attempt(work)
        return payload or VerifyPayload(verification=None, errors=errors)

    @strawberry.mutation(
        description="Verify yourself against a council register: your name, postcode and date of "
        "birth (YYYY-MM-DD), or your register reference and date of birth."
    )
    async def match_register(
        self,
        info: Info,
        date_of_birth: str,
        name: str = "",
        postcode: str = "",
        reference: str = "",
    ) -> VerifyPayload:
        account = info.context.require(TokenScope.PARTICIPATE)
        keys = info.context.request.app.state.keys

        async def work() -> VerifyPayload:
            try:
                born: dt.date | None = dt.date.fromisoformat(date_of_birth.strip())
            except ValueError:
                born = None
            details = registers.MatchDetails(
                date_of_birth=born, name=name, postcode=postcode, reference=reference
            )
            async with info.context.db.session() as session:
                async with session.begin():
                    # Attempts count even when they fail: a separate, committed transaction.
                    await throttle.hit(
                        session,
                        f"register-api:{account.id}",
                        limit=10,
                        window=dt.timedelta(minutes=15),
                        now=info.context.now,
                    )
                async with session.begin():
                    fresh = await session.get(Account, account.id, with_for_update=True)
                    assert fresh is not None
                    return _verify_result(
                        await registers.match_register(
                            session, keys, fresh, details, today=info.context.now.date()
                        )
                    )

        payload, errors = await attempt(work)
        return payload or VerifyPayload(verification=None, errors=errors)

    @strawberry.mutation(description="Revoke one of your tokens; it stops working at once.")
    async def revoke_api_token(self, info: Info, id: int) -> RevokeApiTokenPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> ApiTokenInfo:
            async with info.context.db.session() as session, session.begin():
                t = await tokens.revoke_token(session, account, id, now=info.context.now)
            return ApiTokenInfo(
                id=t.id,
                name=t.name,
                scopes=list(t.scopes),
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked_at=t.revoked_at,
                last_used_at=t.last_used_at,
            )

        token, errors = await attempt(work)
        return RevokeApiTokenPayload(token=token, errors=errors)

    @strawberry.mutation(
        description="Delete your account. Contributions stay under 'Former participant' unless "
        'keepContributions is false. Requires confirm: "DELETE".'
    )
    async def delete_account(
        self, info: Info, confirm: str, keep_contributions: bool = True
    ) -> DeleteAccountPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> bool:
            if confirm != "DELETE":
                raise ValidationFailed(
                    'Pass confirm: "DELETE" to delete your account.', field="confirm"
                )
            async with info.context.db.session() as session, session.begin():
                fresh = await session.get(Account, account.id, with_for_update=True)
                assert fresh is not None
                await privacy.delete_account(
                    session,
                    fresh,
                    now=info.context.now,
                    remove_contributions=not keep_contributions,
                )
            return True

        deleted, errors = await attempt(work)
        return DeleteAccountPayload(deleted=bool(deleted), errors=errors)
