"""The response cache, as the gateway uses it (one lookup before routing, one store after).

Rules (README, "Response cache"):

- Off unless a route or deployment has ``cache: {ttl: ...}``; the rule of the name the client
  asked for applies (a route's own, or a deployment's when named directly).
- Surfaces ``/chat/``, ``/v1/chat/completions`` and ``/v1/messages`` only; every response of
  theirs carries ``x-llm-router-cache: hit|miss|bypass``.
- Exact match on ``key.cache_key``: canonical request, resolved target, surface, streamed or
  not, and the tenant (the virtual key, or its team with ``scope: team``; the gateway key
  otherwise). Entries never cross tenants.
- Deterministic requests only (temperature 0, or a seed; no temperature counts as
  non-deterministic) unless the rule says ``nondeterministic: true``.
- ``Cache-Control: no-cache`` skips the lookup (the fresh answer is stored); ``no-store``
  skips both.
- Stored: answers that ended with ``stop`` or ``tool_calls``, streams only once they ended
  cleanly. Never errors, cut, cancelled or timed-out streams, ``length`` stops.
- A hit answers like the original (a stream streams its chunks), with usage marked
  ``cached``, attempts 0, cost 0 and the saved cost in the usage record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from llm_router import aio
from llm_router.cache.entry import Entry, decode, encode, served, storable
from llm_router.cache.key import cache_key
from llm_router.cache.store import CacheStore
from llm_router.config.router_config import CacheRule
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.policies.base import RequestContext
from llm_router.routing.router import Outcome, Router
from llm_router.routing.stream import ChatStream

log = logging.getLogger("llm_router.cache")
HEADER = "x-llm-router-cache"
SURFACES = frozenset({"chat", "openai", "anthropic"})


@dataclass(slots=True)
class Lookup:
    """One request's dealings with the cache."""

    status: str  # hit, miss or bypass
    key: str | None = None  # where to store the answer (None: do not store)
    ttl: float = 0.0
    entry: Entry | None = None  # the entry served, on a hit
    outcome: Outcome | None = None


class ResponseCache:
    """Exact-match answers per tenant; see the module docstring."""

    def __init__(self, rules: dict[str, CacheRule], router: Router, store: CacheStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.router = router
        self.store = store
        self.clock = clock
        self._pending: set[asyncio.Task[None]] = set()

    async def lookup(self, name: str, request: ChatRequest, ctx: RequestContext | None,
                     streamed: bool) -> Lookup | None:
        """Look the request up; None when the cache has nothing to do with it."""
        if ctx is None or ctx.surface not in SURFACES:
            return None
        lookup = await self._lookup(name, request, ctx, streamed)
        ctx.response_headers[HEADER] = lookup.status
        ctx.state.cache = lookup.status
        return lookup

    async def _lookup(self, name: str, request: ChatRequest, ctx: RequestContext, streamed: bool) -> Lookup:
        rule = self.rules.get(name)
        if rule is None or not (rule.nondeterministic or deterministic(request)):
            return Lookup("bypass")
        directives = _directives(ctx.headers.get("cache-control", ""))
        if "no-store" in directives:
            return Lookup("bypass")
        key = cache_key(request, surface=ctx.surface, tenant=tenant(ctx, rule.scope),
                        target=self._target(name), streamed=streamed)
        if "no-cache" in directives:
            return Lookup("bypass", key, rule.ttl)
        data = await self.store.get(key)
        entry = decode(data) if data is not None else None
        deployment = self.router.factory.deployments.get(entry.deployment) if entry else None
        if entry is None or deployment is None or (entry.response is None) != streamed:
            return Lookup("miss", key, rule.ttl)
        assert data is not None
        ctx.state.cache_bytes = len(data)
        return Lookup("hit", entry=served(entry), outcome=Outcome(deployment, entry.route, attempts=0))

    def _target(self, name: str) -> list[Any]:
        """What the name resolves to, in configuration order."""
        route = self.router.config.routes.get(name)
        names = route.deployments if route is not None else (name,)
        deployments = self.router.factory.deployments
        return [name, [[d.name, d.provider, d.model] for n in names if (d := deployments.get(n))]]

    def replay(self, lookup: Lookup, request: ChatRequest) -> ChatStream:
        """A hit's stream: the stored chunks, then the end."""
        assert lookup.entry is not None and lookup.outcome is not None
        return ChatStream(lookup.outcome, list(lookup.entry.chunks), _nothing(), request=request,
                          deadline=float("inf"), clock=self.router.clock, idle_bound=None,
                          on_failure=lambda error: None)

    def keep(self, lookup: Lookup, response: ChatResponse, outcome: Outcome, ctx: RequestContext) -> None:
        """Store a whole answer (if it may be stored)."""
        if lookup.key is not None and storable(response.finish_reason):
            entry = Entry(outcome.deployment.name, outcome.route, self.clock(), response)
            self._put(lookup, encode(entry), ctx)

    def record(self, lookup: Lookup, stream: ChatStream, ctx: RequestContext) -> None:
        """Store the stream once it has ended cleanly (if it may be stored)."""
        if lookup.key is not None:
            stream.tap(_Recorder(self, lookup, stream.outcome, ctx))

    def _put(self, lookup: Lookup, data: bytes, ctx: RequestContext) -> None:
        assert lookup.key is not None
        ctx.state.cache_bytes = len(data)
        task = aio.running_loop().create_task(self.store.put(lookup.key, data, lookup.ttl))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        """Finish the stores under way, then release the store."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=2.0)
        await self.store.close()


@dataclass(slots=True)
class _Recorder:
    """A stream tap: the chunks as they pass, stored when the stream completes."""

    cache: ResponseCache
    lookup: Lookup
    outcome: Outcome
    ctx: RequestContext
    chunks: list[ChatChunk] = field(default_factory=list)

    def chunk(self, chunk: ChatChunk) -> None:
        self.chunks.append(chunk)

    def end(self, completed: bool) -> None:
        last = next((c.finish_reason for c in reversed(self.chunks) if c.finish_reason), None)
        if completed and storable(last):
            entry = Entry(self.outcome.deployment.name, self.outcome.route, self.cache.clock(),
                          chunks=tuple(self.chunks))
            self.cache._put(self.lookup, encode(entry), self.ctx)


def deterministic(request: ChatRequest) -> bool:
    """Temperature 0 or a seed (an omitted temperature is the provider's default: not 0)."""
    return request.temperature == 0 or request.seed is not None


def tenant(ctx: RequestContext, scope: str) -> str:
    """Whose entries these are: the virtual key (or its team), else the gateway key."""
    principal = ctx.principal
    if principal.kind != "virtual":
        return "gateway"
    if scope == "team" and principal.team_id:
        return f"team:{principal.team_id}"
    return f"key:{principal.key_id}"


def _directives(header: str) -> set[str]:
    return {part.split("=", 1)[0].strip().lower() for part in header.split(",") if part.strip()}


async def _nothing() -> AsyncIterator[ChatChunk]:
    return
    yield  # an async generator with no items
