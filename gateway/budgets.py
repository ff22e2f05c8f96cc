"""Partner agencies' budgets: what one agency's requests may cost together, and how many may run at once.

- **Cost**: every request of an agency principal spends its static cost (schema/cost.py, worked out
  before anything runs: the `requested` of `extensions.cost`) from its agency's bucket, shared by all of
  the agency's clients and, with CCVC_REDIS_URL, by every gateway process (gateway/buckets.py). A request
  that does not fit runs nothing and is answered 429 THROTTLED with Retry-After: the seconds until enough
  points are back. A request costing more than the whole bucket can never run: MAX_COST_EXCEEDED.
- **Concurrency**: at most `max_concurrent` of an agency's requests run at once in each gateway process.
  What it protects is the process (its connection pool, its CPU), so it is counted per process, in
  memory; one more is answered 429 THROTTLED with Retry-After: 1.

People (officials, staff) have no budget: the cost bound of one request limits them. Every GraphQL
response says what it cost (`extensions.cost`): `requested`, the static cost; `actual`, the fields the
answer really holds, counted as the static cost counts them (each key of each object once), so a page
shorter than its `first` costs less than it was charged; `remaining`, the points left in the agency's
bucket; `resetAt`, when the bucket is full again if nothing more is spent (ISO 8601, UTC). The last two
are null for a caller without a budget. A request is charged what it may cost, never refunded:
a budget is known before the work, as the cost bound is.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType, get_operation_ast
from limits import RateLimitItem, RateLimitItemPerSecond
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types import ExecutionResult as StrawberryResult

from db.errors import DomainError
from gateway.buckets import Buckets, Window, retry_after
from gateway.config import Settings
from gateway.errors import Throttled
from policies.principal import Principal
from resolvers.context import RequestContext
from resolvers.errors import CostExceeded

OWN_FIGURES = "CCVC_AGENCY_BUDGETS"


@dataclass(frozen=True, slots=True)
class Budget:
    points_per_second: int
    burst: int
    max_concurrent: int
    own: bool = False  # the agency's own figures (CCVC_AGENCY_BUDGETS), not the defaults

    @property
    def rate_setting(self) -> str:
        return OWN_FIGURES if self.own else "CCVC_AGENCY_POINTS_PER_SECOND, CCVC_AGENCY_BURST"

    @property
    def concurrency_setting(self) -> str:
        return OWN_FIGURES if self.own else "CCVC_AGENCY_MAX_CONCURRENT"

    @property
    def window(self) -> int:
        """The sliding window's length: a whole number of seconds (`limits` counts in them), so the rate
        a bucket really refills at is burst / window, within half a second's worth of the one set."""
        return max(1, round(self.burst / self.points_per_second))

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.burst, self.window)


@dataclass(frozen=True, slots=True)
class Standing:
    """An agency's bucket, as a response tells it."""

    remaining: int
    reset_at: datetime


@dataclass(frozen=True, slots=True)
class Charged:
    standing: Standing | None  # None: the caller has no budget
    refusal: DomainError | None = None


class Budgets:
    def __init__(self, default: Budget, overrides: Mapping[str, Budget], buckets: Buckets) -> None:
        self.default = default
        self.overrides = dict(overrides)
        self.buckets = buckets
        self._running: dict[str, int] = {}  # per agency, in this process

    @classmethod
    def from_settings(cls, settings: Settings) -> "Budgets":
        default = Budget(settings.agency_points_per_second, settings.agency_burst, settings.agency_max_concurrent)
        overrides = {
            code: Budget(
                given.points_per_second or default.points_per_second,
                given.burst or default.burst,
                given.max_concurrent or default.max_concurrent,
                own=True,
            )
            for code, given in settings.agency_budgets.items()
        }
        buckets = Buckets(
            settings.redis_url,
            key_prefix=settings.redis_key_prefix,
            timeout=settings.redis_timeout_seconds,
            retry_seconds=settings.redis_retry_seconds,
        )
        return cls(default, overrides, buckets)

    def budget_for(self, principal: Principal) -> tuple[str, Budget] | None:
        """The agency whose bucket the principal spends from, and its budget; None for people."""
        code = principal.agency_code
        if principal.kind != "agency" or code is None:
            return None
        return code, self.overrides.get(code, self.default)

    async def charge(self, principal: Principal, requested: int) -> Charged:
        """Take `requested` points from the principal's agency, or say why not (nothing taken)."""
        found = self.budget_for(principal)
        if found is None:
            return Charged(None)
        code, budget = found
        if requested > budget.burst:
            window = await self.buckets.window(budget.item, code)
            return Charged(_standing(window, budget), _never_fits(code, budget, requested))
        hit = await self.buckets.hit(budget.item, code, requested)
        standing = _standing(hit.window, budget)
        if hit.accepted:
            return Charged(standing)
        wait = retry_after(hit.window.wait_for(requested, budget.burst, budget.window))
        return Charged(standing, _over_budget(code, budget, requested, standing.remaining, wait))

    async def standing(self, principal: Principal) -> Standing | None:
        """The principal's agency's bucket as it is, taking nothing; None for people."""
        found = self.budget_for(principal)
        if found is None:
            return None
        code, budget = found
        return _standing(await self.buckets.window(budget.item, code), budget)

    @asynccontextmanager
    async def running(self, principal: Principal) -> AsyncIterator[None]:
        """Hold one of the agency's places in this process while the block runs (Throttled when none is
        free); given back however the block ends."""
        found = self.budget_for(principal)
        if found is None:
            yield
            return
        code, budget = found
        held = self._running.get(code, 0)
        if held >= budget.max_concurrent:
            raise Throttled(
                f"Agency {code} already has {held} request{'s' if held != 1 else ''} running on this gateway process, the most it may "
                f"({budget.concurrency_setting}); nothing of this one ran: send it again in 1 s (Retry-After)",
                retry_after=1,
            )
        self._running[code] = held + 1
        try:
            yield
        finally:
            left = self._running[code] - 1
            if left:
                self._running[code] = left
            else:
                del self._running[code]

    def running_now(self, code: str) -> int:
        return self._running.get(code, 0)

    def degraded(self) -> dict[str, str]:
        """For `/readyz`: the budgets still hold, per process, while the shared buckets do not answer."""
        reason = self.buckets.degraded()
        return {"budgets": reason} if reason is not None else {}

    async def close(self) -> None:
        await self.buckets.close()

    def extension(self) -> type[SchemaExtension]:
        """The schema extension that charges these budgets (strawberry makes one per request)."""
        budgets = self

        class ChargingThese(ChargeBudget):
            def __init__(self) -> None:
                super().__init__(budgets)

        return ChargingThese


class ChargeBudget(SchemaExtension):
    """Charges a request's static cost before it runs (after schema/limits.py worked it out, before the
    compiled read answers), refuses it with nothing run when its agency cannot pay, and says what it
    cost in `extensions.cost`."""

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.charged: Charged | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        # A request refused already (its cost over the maximum, say) runs nothing and spends nothing.
        if isinstance(context, RequestContext) and execution.result is None and not _subscribes(execution):
            self.charged = await self.budgets.charge(context.principal, context.cost or 0)
            refusal = self.charged.refusal
            if refusal is not None:
                # A result before execution: strawberry then runs nothing (as schema/limits.py does).
                execution.result = ExecutionResult(
                    data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
                )
        yield

    async def get_results(self) -> dict[str, Any]:
        execution = self.execution_context
        context = execution.context
        if not isinstance(context, RequestContext) or _subscribes(execution):
            return {}
        if self.charged is not None:
            standing = self.charged.standing
        else:  # refused before execution, or never parsed: the bucket as it is
            standing = await self.budgets.standing(context.principal)
        result = execution.result
        return {
            "cost": {
                "requested": context.cost or 0,
                "actual": fields_of(result.data) if result is not None else 0,
                "remaining": standing.remaining if standing is not None else None,
                "resetAt": _iso(standing.reset_at) if standing is not None else None,
            }
        }


def throttling(result: ExecutionResult | StrawberryResult) -> Throttled | None:
    """The refusal of a request its agency's budget could not pay for, if it was refused."""
    for error in result.errors or ():
        if isinstance(error.original_error, Throttled):
            return error.original_error
    return None


def fields_of(data: object) -> int:
    """The fields an answer holds, counted as its static cost counts them: each key of each object."""
    count, waiting = 0, [data]
    while waiting:
        value = waiting.pop()
        if isinstance(value, dict):
            count += len(value)
            waiting.extend(value.values())
        elif isinstance(value, list):
            waiting.extend(value)
    return count


def _standing(window: Window, budget: Budget) -> Standing:
    full_in = timedelta(seconds=window.empty_in())
    return Standing(window.remaining(budget.burst, budget.window), datetime.now(UTC) + full_in)


def _over_budget(code: str, budget: Budget, requested: int, remaining: int, wait: int) -> Throttled:
    return Throttled(
        f"Agency {code} is over its budget: this request costs {requested:,} points and {remaining:,} of "
        f"{budget.burst:,} are left (it gets {budget.points_per_second:,} a second, {budget.burst:,} at most: "
        f"{budget.rate_setting}); nothing of it ran: send it again in {wait} s (Retry-After), or ask for less",
        retry_after=wait,
    )


def _never_fits(code: str, budget: Budget, requested: int) -> CostExceeded:
    return CostExceeded(
        f"This request costs {requested:,} points, more than agency {code}'s whole budget holds "
        f"({budget.burst:,}: {budget.rate_setting}), so it can never run: ask for fewer fields, smaller pages "
        "(`first`) or fewer nested lists, or split it"
    )


def _subscribes(execution: ExecutionContext) -> bool:
    """A subscription (over a WebSocket): it has no HTTP status to refuse with, and no budget here."""
    document = execution.graphql_document
    operation = get_operation_ast(document, execution.operation_name) if document is not None else None
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def _iso(moment: datetime) -> str:
    """Whole seconds, rounded up (the bucket is not full before), in UTC: 2026-01-31T09:00:12Z."""
    whole = moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)
    return whole.astimezone(UTC).isoformat().replace("+00:00", "Z")
