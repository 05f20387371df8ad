"""The counter store on Redis (or Valkey): rpm/tpm, max_parallel and budgets shared by every
replica, one round trip per operation (the Lua scripts of ``counters_lua``, sent with
``EVALSHA`` and loaded again on ``NOSCRIPT``).

- Rate limits are a sliding-window log on the server's clock: in *every* window of
  ``period`` seconds at most ``limit`` units are admitted, whatever the number of replicas
  (the in-process store's GCRA allows a burst on top of the refill; this one does not).
- Parallel slots and budget reservations are leases: each replica renews its own every
  ``lease / 3`` seconds; a replica that dies gives them back after ``lease`` seconds
  (default 30 s).
- Keys are ``<prefix>{<counter>}:<part>``: one hash tag per counter, so each script's keys
  live in one Cluster slot.

Errors of the store (connection refused, timeouts) propagate as ``redis.RedisError`` or
``OSError``; ``counters_failover`` decides what happens then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from llm_router.errors import Overloaded, RouterError
from llm_router.policies.counters import RateResult, Reservation
from llm_router.policies.counters_lua import BUDGET, SLOTS, WINDOW

log = logging.getLogger("llm_router.counters")
DEFAULT_LEASE = 30.0


def _id() -> str:
    return secrets.token_hex(8)


async def _seed(seed: Callable[[], Awaitable[int]]) -> int:
    """What was spent before (the ledger). Its failures are the database's, never the store's:
    an OSError from a database socket must not pass for Redis being down."""
    try:
        return int(await seed())
    except RouterError:
        raise
    except Exception as exc:
        raise Overloaded("The budget cannot be checked: the database is unavailable; try again shortly.",
                         retry_after=1.0) from exc


def _result(reply: list[Any], limit: int) -> RateResult:
    allowed, remaining, reset_ms, retry_ms = (int(v) for v in reply)
    return RateResult(bool(allowed), limit, max(0, remaining), max(0, reset_ms) / 1000,
                      max(0, retry_ms) / 1000)


class RedisCounters:
    """``CounterStore`` on a shared Redis; see the module docstring."""

    def __init__(self, client: Redis, prefix: str = "llm-router:", lease: float = DEFAULT_LEASE) -> None:
        self.client = client
        self.prefix = prefix
        self.lease_ms = max(1000, round(lease * 1000))
        self._window = client.register_script(WINDOW)
        self._slots = client.register_script(SLOTS)
        self._budget = client.register_script(BUDGET)
        #: Leases this replica holds: slot key -> lease ids; budget key -> (id, amount).
        self.slot_leases: dict[str, list[str]] = {}
        self.reservations: dict[str, list[tuple[str, int]]] = {}
        self._renewer: asyncio.Task[None] | None = None

    def key(self, counter: str, part: str) -> str:
        """The Redis key of one part of a counter (hash-tagged by the counter)."""
        return f"{self.prefix}{{{counter}}}:{part}"

    async def rate(self, key: str, limit: int, period: float, cost: int) -> RateResult:
        return await self._run_window(key, limit, period, cost, "take")

    async def peek(self, key: str, limit: int, period: float) -> RateResult:
        return await self._run_window(key, limit, period, 0, "peek")

    async def adjust_rate(self, key: str, limit: int, period: float, delta: int) -> None:
        if delta:
            await self._run_window(key, limit, period, delta, "adjust")

    async def _run_window(self, key: str, limit: int, period: float, cost: int, mode: str) -> RateResult:
        keys = [self.key(key, "log"), self.key(key, "sum")]
        reply = await self._window(keys=keys, args=[limit, round(period * 1000), cost, mode, _id()])
        return _result(reply, limit)

    async def acquire(self, key: str, limit: int) -> bool:
        lease = _id()
        args: list[str | int] = ["acquire", limit, self.lease_ms, lease]
        if not await self._slots(keys=[self.key(key, "slots")], args=args):
            return False
        self.slot_leases.setdefault(key, []).append(lease)
        self._start_renewer()
        return True

    def holds_slot(self, key: str) -> bool:
        """Whether this replica holds a lease on slot counter ``key``."""
        return bool(self.slot_leases.get(key))

    async def release(self, key: str) -> None:
        leases = self.slot_leases.get(key)
        if not leases:
            return
        lease = leases.pop()
        if not leases:
            del self.slot_leases[key]
        await self._slots(keys=[self.key(key, "slots")], args=["release", 0, 0, lease])

    async def reserve(self, key: str, amount: int, limit: int, seed: Callable[[], Awaitable[int]],
                      ttl: float) -> Reservation:
        reservation, keys = _id(), [self.key(key, "budget"), self.key(key, "held")]
        args: list[Any] = ["reserve", reservation, amount, limit, round(ttl * 1000), self.lease_ms, ""]
        reply = await self._budget(keys=keys, args=args)
        if reply and reply[0] in (b"seed", "seed"):
            args[-1] = str(await _seed(seed))
            reply = await self._budget(keys=keys, args=args)
        allowed, used = int(reply[0]), int(reply[1])
        if allowed:
            self.reservations.setdefault(key, []).append((reservation, amount))
            self._start_renewer()
        return Reservation(bool(allowed), used)

    def holds_reservation(self, key: str, amount: int) -> bool:
        """Whether this replica holds a reservation of ``amount`` on budget ``key``."""
        return any(a == amount for _, a in self.reservations.get(key, ()))

    async def commit(self, key: str, reserved: int, actual: int) -> None:
        held = self.reservations.get(key, [])
        match = next((r for r in held if r[1] == reserved), None)
        if match is not None:
            held.remove(match)
        if not held:
            self.reservations.pop(key, None)
        reservation = match[0] if match else "none"
        await self._budget(keys=[self.key(key, "budget"), self.key(key, "held")],
                           args=["commit", reservation, reserved, actual])

    async def renew(self) -> None:
        """Extend every lease this replica holds (one pipeline)."""
        if not self.slot_leases and not self.reservations:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for key, leases in list(self.slot_leases.items()):
                for lease in leases:
                    await self._slots(keys=[self.key(key, "slots")], args=["renew", 0, self.lease_ms, lease],
                                      client=pipe)
            for key, held in list(self.reservations.items()):
                for reservation, amount in held:
                    await self._budget(keys=[self.key(key, "budget"), self.key(key, "held")],
                                       args=["renew", reservation, amount, self.lease_ms], client=pipe)
            await pipe.execute()

    def _start_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever(),
                                                                   name="llm-router-lease-renewer")

    async def _renew_forever(self) -> None:
        while self.slot_leases or self.reservations:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self.renew()
            except Exception as exc:  # the store is down: leases lapse, the failover logs it
                log.debug("lease renewal failed: %s", type(exc).__name__)

    async def ping(self) -> bool:
        """Whether the store answers."""
        return bool(await self.client.ping())

    async def close(self) -> None:
        """Stop renewing and close the connection pool."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self.client.aclose()
