"""Written grants: `grantAccess`, `revokeGrant`, `accessGrants`.

Only the personnel department of the officials' ministry or province (or the national administrator)
may grant or revoke; casbin decides that (`manage_grants`), per target, off the read path. A grant
covers one unit subtree or named officials of ONE ministry or province, lists the fields it opens
(sensitive ones only when named), and cites the written document it rests on.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Row

from db.errors import BadInput, NotFound
from db.queries import accounts, grants, officials
from policies.rules import ALL_FIELDS
from policies.written import today
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.ids import check_text, is_id, parse_id
from resolvers.officials import officials_by_code
from resolvers.units import unit_by_ref

MAX_GRANT_DAYS: Final = 5 * 366  # a written consent is for a purpose and a period, not for ever
MAX_NAMED_OFFICIALS: Final = 1000
MAX_DOCUMENT_NUMBER: Final = 64
# Grants one account may hold in force or to come. Each one is a predicate of every statement that
# account's requests run: some hundreds would make each request cost hundreds of milliseconds to plan.
# One grant names up to MAX_NAMED_OFFICIALS officials or a whole unit, so a hundred is room enough.
MAX_STANDING_GRANTS: Final = 100


@dataclass(frozen=True, slots=True)
class GrantRequest:
    grantee: str
    unit: str | None
    officials: list[str] | None
    fields: list[str]
    valid_from: date
    valid_to: date
    document_number: str


def field_names(ctx: RequestContext, names: list[str]) -> list[str]:
    """Granted names as stored: group names as they are, fields qualified ("Official.religion")."""
    authorizer = ctx.scopes.authorizer
    stored: list[str] = []
    for raw in names:
        name = check_text(raw, "fields").strip()
        if name == ALL_FIELDS:
            raise BadInput("A grant names the fields or groups it opens; `all` is not accepted")
        if name in authorizer.groups:
            stored.append(name)
        elif f"Official.{name}" in authorizer.data_fields:
            stored.append(f"Official.{name}")
        else:
            known = ", ".join(sorted(g for g in authorizer.groups if g != ALL_FIELDS))
            raise BadInput(f"Unknown field or group '{name}' (groups: {known}; or an Official field name)")
    if not stored:
        raise BadInput("A grant must name at least one field or group")
    return sorted(set(stored))


def _check_dates(valid_from: date, valid_to: date) -> None:
    if valid_to < valid_from:
        raise BadInput("`validTo` is before `validFrom`")
    if valid_to < today():
        raise BadInput("`validTo` is in the past: such a grant would never be in force")
    if (valid_to - valid_from).days > MAX_GRANT_DAYS:
        raise BadInput(f"A grant may last at most {MAX_GRANT_DAYS} days")


def _document_number(value: str) -> str:
    number = check_text(value, "documentNumber").strip()
    if not number or len(number) > MAX_DOCUMENT_NUMBER:
        raise BadInput(f"`documentNumber` must be 1 to {MAX_DOCUMENT_NUMBER} characters")
    return number


async def _target(ctx: RequestContext, request: GrantRequest) -> tuple[int, int | None, list[int] | None]:
    """(managing top-level unit, unit id, official ids) after checking the caller may manage them."""
    if (request.unit is None) == (request.officials is None):
        raise BadInput("Give either `unit` (a subtree) or `officials` (named people), not both or neither")
    unit_id: int | None = None
    ids: list[int] | None = None
    if request.unit is not None:
        unit = await unit_by_ref(ctx, request.unit)
        if unit is None:
            raise NotFound(f"No unit with code or id '{request.unit}'")
        unit_id, places = unit.id, [(unit.path, unit.top_unit_id)]
    else:
        ids = await _official_ids(ctx, request.officials or [])
        async with ctx.connect() as conn:
            found = await officials.placements(conn, scope=ctx.scope, official_ids=ids)
        missing = sorted(set(ids) - {row.id for row in found})
        if missing:
            raise NotFound(f"Official '{missing[0]}' does not exist")
        places = [(row.unit_path, row.top_unit_id) for row in found]
    top_units = {top for _, top in places}
    if len(top_units) != 1:
        raise BadInput("One grant covers officials of one ministry or province; make one grant per unit")
    if not ctx.scopes.authorizer.may_manage_grants(ctx.principal, places):
        raise Forbidden("Only the personnel department of the officials' ministry or province may grant access")
    return top_units.pop(), unit_id, ids


async def _official_ids(ctx: RequestContext, refs: list[str]) -> list[int]:
    """Named officials, by id or by code (số hiệu), as ids."""
    if not refs or len(refs) > MAX_NAMED_OFFICIALS:
        raise BadInput(f"`officials` must name 1 to {MAX_NAMED_OFFICIALS} officials")
    codes = sorted({ref for ref in refs if not is_id(ref)})
    by_code = {row.code: row.id for row in await officials_by_code(ctx, codes)} if codes else {}
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise NotFound(f"No official with code '{unknown[0]}'")
    return sorted({parse_id(ref, "official") for ref in refs if is_id(ref)} | set(by_code.values()))


async def resolve_grant_access(ctx: RequestContext, request: GrantRequest) -> Row[Any]:
    fields = field_names(ctx, request.fields)
    _check_dates(request.valid_from, request.valid_to)
    document = _document_number(request.document_number)
    managing_unit_id, unit_id, official_ids = await _target(ctx, request)
    async with ctx.write() as conn:
        grantee = await accounts.get_by_username(conn, check_text(request.grantee, "grantee"))
        if grantee is None or grantee.disabled:
            raise NotFound(f"Account '{request.grantee}' does not exist")
        if await grants.count_standing(conn, grantee_id=grantee.id, today=today()) >= MAX_STANDING_GRANTS:
            raise BadInput(
                f"Account '{request.grantee}' already holds {MAX_STANDING_GRANTS} grants in force or to come: revoke "
                f"some, or grant a whole unit or up to {MAX_NAMED_OFFICIALS} named officials in one grant"
            )
        grant_id = await grants.create(
            conn,
            grantee_id=grantee.id,
            managing_unit_id=managing_unit_id,
            unit_id=unit_id,
            official_ids=official_ids,
            fields=fields,
            valid_from=request.valid_from,
            valid_to=request.valid_to,
            document_number=document,
            granted_by_id=ctx.principal.account_id,
            now=datetime.now(UTC),
        )
        row = await grants.get(conn, grant_id=grant_id)
    ctx.after_commit(ctx.scopes.forget)  # this process sees the grant at once; others within their cache lifetime
    assert row is not None
    return row


async def resolve_revoke_grant(ctx: RequestContext, grant_id: str) -> Row[Any]:
    key = parse_id(grant_id, "grant")
    async with ctx.write() as conn:
        row = await grants.get(conn, grant_id=key)
        # A grant the caller may not manage is "not found", as an official outside the scope is.
        if row is None or not ctx.scopes.authorizer.may_manage_grants(
            ctx.principal, [(row.managing_unit_path, row.managing_unit_id)]
        ):
            raise NotFound(f"Grant '{grant_id}' does not exist")
        done = await grants.revoke(conn, grant_id=key, revoked_by_id=ctx.principal.account_id, now=datetime.now(UTC))
        # Read again either way: a concurrent revocation may have landed since `row` was read.
        revoked = await grants.get(conn, grant_id=key)
        if not done:
            raise BadInput(f"Grant '{grant_id}' was already revoked")
    ctx.after_commit(ctx.scopes.forget)
    assert revoked is not None
    return revoked


async def resolve_access_grants(ctx: RequestContext, grantee: str | None, in_force: bool) -> list[Row[Any]]:
    """Grants the caller manages (all of them for the national administrator); for anyone else, the
    grants made to the caller."""
    managed = ctx.scopes.authorizer.managed_top_units(ctx.principal)
    async with ctx.connect() as conn:
        grantee_id: int | None = None
        if grantee is not None:
            account = await accounts.get_by_username(conn, check_text(grantee, "grantee"))
            if account is None:
                return []
            grantee_id = account.id
        if managed is not None and not managed:
            # Not a manager: only the caller's own grants, and only those in force. A revoked or expired
            # grant would still name officials (and their ministry) the caller can no longer see.
            if grantee_id not in (None, ctx.principal.account_id):
                return []
            grantee_id, managed, in_force = ctx.principal.account_id, None, True
        return await grants.list_(
            conn, managing_unit_ids=managed, grantee_id=grantee_id, in_force_on=today() if in_force else None
        )


def is_in_force(row: Row[Any], on: date | None = None) -> bool:
    day = on or today()
    return row.revoked_at is None and row.valid_from <= day <= row.valid_to
