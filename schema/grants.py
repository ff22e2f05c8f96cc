"""Written grants: the managing agency's consent that an account may read more than its role allows."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from resolvers.grants import (
    GrantRequest,
    is_in_force,
    resolve_access_grants,
    resolve_grant_access,
    resolve_revoke_grant,
)
from resolvers.units import resolve_unit_by_id
from schema.common import Ctx, Parent, field, mutation

if TYPE_CHECKING:
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]


@strawberry.type(description="A written grant: who may read which fields of whom, from when to when, and why.")
class AccessGrant:
    id: strawberry.ID
    document_number: str = strawberry.field(description="Số văn bản: the written consent the grant rests on")
    valid_from: date
    valid_to: date = strawberry.field(description="Last day in force (Asia/Ho_Chi_Minh), included")
    created_at: datetime
    revoked_at: datetime | None

    @field(description="Username of the account the grant lets read more")
    def grantee(self, root: Parent) -> str:
        return cast(str, root.grantee_username)

    @field(description="Username of the account that made the grant")
    def granted_by(self, root: Parent) -> str:
        return cast(str, root.granted_by_username)

    @field(description="Field names and groups (profile, identity, work, …, sensitive) it opens")
    def fields(self, root: Parent) -> list[str]:
        return [name.removeprefix("Official.") for name in root.fields.split()]

    @field(description="Named officials, when the grant is for named people")
    def official_ids(self, root: Parent) -> list[strawberry.ID] | None:
        ids: list[int] | None = root.official_ids
        return None if ids is None else [strawberry.ID(str(i)) for i in ids]

    @field(description="True from validFrom to validTo, unless revoked")
    def active(self, root: strawberry.Parent[Any]) -> bool:
        return is_in_force(root)

    @field(description="The ministry or province whose officials the grant is about")
    async def managing_unit(self, info: Ctx, root: Parent) -> UnitRef:
        return cast("Unit", await resolve_unit_by_id(info.context, root.managing_unit_id))

    @field(description="The unit whose subtree the grant opens, when it is for a unit")
    async def unit(self, info: Ctx, root: Parent) -> UnitRef | None:
        return cast("Unit | None", await resolve_unit_by_id(info.context, root.unit_id))


@strawberry.input(description="Exactly one of `unit` and `officials`.")
class GrantAccessInput:
    grantee: str = strawberry.field(description="Username of the account to let read more")
    unit: strawberry.ID | None = strawberry.field(
        default=None, description='A unit, by code ("BNV.VP") or id: its whole subtree'
    )
    officials: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Named officials, by code (SH00000012) or id"
    )
    fields: list[str] = strawberry.field(
        description="Groups (profile, identity, work, qualification, salary, assessment, sensitive) or "
        "Official field names (religion, health, …). Sensitive fields open only when named."
    )
    valid_from: date
    valid_to: date
    document_number: str = strawberry.field(description="Số văn bản of the written consent")


@strawberry.type
class GrantQueries:
    @field(
        description="Grants of the ministries or provinces whose personnel the caller manages; for anyone "
        "else, the grants in force made to the caller. Newest first, at most 1000: narrow with `grantee` or `inForce`."
    )
    async def access_grants(self, info: Ctx, grantee: str | None = None, in_force: bool = False) -> list[AccessGrant]:
        return cast("list[AccessGrant]", await resolve_access_grants(info.context, grantee, in_force))


@strawberry.type
class GrantMutations:
    @mutation(description="Record a written grant (personnel department of the officials' unit only).")
    async def grant_access(self, info: Ctx, input: GrantAccessInput) -> AccessGrant:
        request = GrantRequest(
            grantee=input.grantee,
            unit=input.unit,
            officials=list(input.officials) if input.officials is not None else None,
            fields=input.fields,
            valid_from=input.valid_from,
            valid_to=input.valid_to,
            document_number=input.document_number,
        )
        return cast("AccessGrant", await resolve_grant_access(info.context, request))

    @mutation(description="Revoke a grant from now on; the record of it stays.")
    async def revoke_grant(self, info: Ctx, id: strawberry.ID) -> AccessGrant:
        return cast("AccessGrant", await resolve_revoke_grant(info.context, id))
