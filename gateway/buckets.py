"""Cost buckets for the agencies' budgets (gateway/budgets.py), kept by the `limits` library: in Redis
when CCVC_REDIS_URL names one, so that every gateway process draws on the same bucket, and in this
process's memory otherwise, or while Redis does not answer.

The bucket is `limits`' sliding window counter, the closest of its strategies to a leaky bucket of
`rate` points a second holding `burst` at most: a window of burst / rate seconds that takes at most
`burst` points. Its count weighs the previous window by the part of it still inside the sliding window,
so spent points flow back steadily once their window has passed instead of all at once at a fixed
window's edge (a fixed window lets twice the burst through across an edge); and it costs two counters
per agency whatever a request costs (the moving window keeps one entry per point: 2,000 entries for a
partner's page). `limits` has no leaky bucket of its own.

Redis is never waited on for long: each call is bounded by CCVC_REDIS_TIMEOUT_SECONDS, the client does not
retry, and once a call fails the buckets are this process's own (one warning in the log, `/readyz` lists
it under `degraded`) until a check in the background, at most every CCVC_REDIS_RETRY_SECONDS, finds Redis
answering again.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from math import ceil, floor
from typing import Any, Final, cast

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("ccvc.budgets")

# What a failing Redis raises through `limits` (wrapped or not), and a call that took too long.
SHARED_FAILURES: Final = (StorageError, RedisError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window counter as its storage reports it (`get_sliding_window`): the previous window's
    points and the seconds until they stop counting (they weigh by that part of a window), the current
    window's points and the seconds until those stop counting (the rest of this window, then one more)."""

    previous: int
    previous_ttl: float
    current: int
    current_ttl: float

    def spent(self, length: int) -> float:
        """The points the bucket holds now, as `limits` weighs them."""
        return self.previous * self.previous_ttl / length + self.current

    def remaining(self, burst: int, length: int) -> int:
        return max(0, burst - floor(self.spent(length)))

    def empty_in(self) -> float:
        """Seconds until every point spent so far has flowed back."""
        if self.current:
            return self.current_ttl
        return self.previous_ttl if self.previous else 0.0

    def wait_for(self, cost: int, burst: int, length: int) -> float:
        """Seconds until `cost` more points fit (at most `burst`), if nothing else is spent meanwhile.

        Until the current window ends, only the previous window's points flow back, linearly; after it
        ends the current window's points become the previous ones and flow back over one window."""
        room = burst - cost
        if self.current <= room:
            if not self.previous:
                return 0.0
            return max(0.0, self.previous_ttl - (room - self.current) * length / self.previous)
        ends = max(0.0, self.current_ttl - length)
        return ends + max(0.0, length - room * length / self.current)


def retry_after(seconds: float) -> int:
    """A Retry-After header's whole seconds: rounded up, never 0 (the points are not back yet)."""
    return max(1, ceil(seconds))


@dataclass(frozen=True, slots=True)
class Hit:
    accepted: bool
    window: Window


class _Bucket:
    """One storage and its limiter."""

    def __init__(self, storage: MemoryStorage | RedisStorage) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, item: RateLimitItem, key: str, cost: int) -> Hit:
        accepted = await self.limiter.hit(item, key, cost=cost) if cost > 0 else True
        return Hit(accepted, await self.window(item, key))

    async def window(self, item: RateLimitItem, key: str) -> Window:
        state = await self.storage.get_sliding_window(item.key_for(key), item.get_expiry())
        return Window(*state)


class Buckets:
    def __init__(self, redis_url: str | None, *, key_prefix: str, timeout: float, retry_seconds: float) -> None:
        self.local = _Bucket(MemoryStorage())
        self.redis_url = redis_url
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._pool: ConnectionPool | None = None
        self.shared: _Bucket | None = None
        # None until Redis has been tried; False while the buckets are this process's own.
        self.answering: bool | None = None
        self._next_check = 0.0
        self._check: asyncio.Task[None] | None = None
        if redis_url is not None:
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),  # redis-py retries thrice with backoff by default: seconds
            )
            options = cast(dict[str, Any], {"connection_pool": self._pool})
            self.shared = _Bucket(
                RedisStorage(
                    f"async+{redis_url}",
                    implementation="redispy",
                    key_prefix=key_prefix,
                    wrap_exceptions=True,
                    **options,
                )
            )

    async def hit(self, item: RateLimitItem, key: str, cost: int) -> Hit:
        """Take `cost` points from the bucket `key` if they fit; the bucket as it is afterwards."""
        shared = self._usable()
        if shared is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    return await shared.hit(item, key, cost)
            except SHARED_FAILURES as error:
                self._lost(error)
        return await self.local.hit(item, key, cost)

    async def window(self, item: RateLimitItem, key: str) -> Window:
        """The bucket `key` as it is, taking nothing."""
        return (await self.hit(item, key, 0)).window

    def degraded(self) -> str | None:
        """Why the buckets are this process's own although Redis is configured, or None."""
        if self.shared is None or self.answering is not False:
            return None
        return (
            "Redis (CCVC_REDIS_URL) does not answer: agencies' budgets are kept per process until it does "
            f"(checked every {self.retry_seconds:g} s)"
        )

    async def check(self) -> None:
        """Whether Redis answers, now (`/readyz`, once the next check is due or Redis was never tried)."""
        if self.shared is not None and (self.answering is None or self._check_due()):
            await self._probe()

    async def close(self) -> None:
        if self._check is not None:
            self._check.cancel()
        if self._pool is not None:
            await self._pool.aclose()

    def _usable(self) -> _Bucket | None:
        if self.shared is None:
            return None
        if self.answering is False:
            if self._check_due() and (self._check is None or self._check.done()):
                # In the background: no request waits on a Redis that may hang until its timeout.
                self._check = asyncio.create_task(self._probe())
            return None
        return self.shared

    def _check_due(self) -> bool:
        return time.monotonic() >= self._next_check

    async def _probe(self) -> None:
        assert self.shared is not None
        self._next_check = time.monotonic() + self.retry_seconds
        try:
            async with asyncio.timeout(self.timeout):
                answers = await self.shared.storage.check()
        except TimeoutError:
            answers = False
        if answers and self.answering is not True:
            if self.answering is False:
                log.info("Redis answers again: agencies' budgets are shared by every gateway process again")
            self.answering = True
        elif not answers and self.answering is not False:
            self._lost(None)

    def _lost(self, error: BaseException | None) -> None:
        """Redis failed: this process keeps its own buckets until a check finds it again. Said once."""
        self._next_check = time.monotonic() + self.retry_seconds
        if self.answering is not False:
            cause = f" ({type(error).__name__}: {error})" if error is not None else ""
            log.warning(
                "Redis at %s does not answer%s; agencies' budgets are kept in this process until it does",
                _without_password(self.redis_url or ""),
                cause,
            )
        self.answering = False


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    _, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{'***@' if at else ''}{host}"
