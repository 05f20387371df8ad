"""Rate limits of a key and its team: ``rpm``, ``tpm``, ``max_parallel``.

Exact on one instance: a sliding-window log in process (``window``): at most ``rpm``
requests and ``tpm`` tokens in every 60 seconds. Tokens are charged from the estimate at
``check`` and corrected to the real usage at ``settle``. Every response of a
limited key carries OpenAI's headers (the tighter of key and team):
``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; a refusal is 429 with
``Retry-After``."""

from __future__ import annotations

from llm_router.errors import RateLimited
from llm_router.policies.auth import VirtualAuth
from llm_router.policies.base import BasePolicy, RequestContext
from llm_router.policies.counters import CounterStore, RateResult
from llm_router.policies.estimate import rate_tokens, real_tokens
from llm_router.storage.records import Limits

PERIOD = 60.0


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``250ms``, ``12s``, ``1m30s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def _scopes(auth: VirtualAuth) -> list[tuple[str, str, Limits]]:
    scopes = [(f"key:{auth.key.id}", f"key '{auth.key.name}'", auth.key.rules.limits)]
    if auth.team is not None:
        scopes.append((f"team:{auth.team.id}", f"team '{auth.team.name}'", auth.team.rules.limits))
    return [s for s in scopes if s[2].any()]


def _headers(ctx: RequestContext, kind: str, results: list[RateResult]) -> None:
    if not results:
        return
    tight = min(results, key=lambda r: (r.remaining, -r.reset_after))
    ctx.response_headers[f"x-ratelimit-limit-{kind}"] = str(tight.limit)
    ctx.response_headers[f"x-ratelimit-remaining-{kind}"] = str(tight.remaining)
    ctx.response_headers[f"x-ratelimit-reset-{kind}"] = duration(tight.reset_after)


class RateLimitPolicy(BasePolicy):
    """rpm, tpm and max_parallel for virtual keys and their teams."""

    name = "limits"

    def __init__(self, store: CounterStore) -> None:
        self.store = store

    async def admit(self, ctx: RequestContext) -> None:
        """Headers for responses refused before ``check`` (a 403, say)."""
        auth = ctx.principal.data
        if isinstance(auth, VirtualAuth):
            for kind, attr in (("requests", "rpm"), ("tokens", "tpm")):
                _headers(ctx, kind, [await self.store.peek(f"{attr}:{scope}", getattr(limits, attr), PERIOD)
                                     for scope, _, limits in _scopes(auth) if getattr(limits, attr)])

    async def check(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        scopes = _scopes(auth)
        try:
            await self._slots(auth, scopes)
            await self._requests(ctx, auth, scopes)
            await self._tokens(ctx, auth, scopes)
        except RateLimited:
            await self._give_back(auth)
            raise

    async def settle(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        actual = real_tokens(ctx)
        for key, charged, limit in auth.held.tokens:
            await self.store.adjust_rate(key, limit, PERIOD, actual - charged)
        auth.held.tokens.clear()
        auth.held.requests.clear()
        await self._release(auth)

    async def _slots(self, auth: VirtualAuth, scopes: list[tuple[str, str, Limits]]) -> None:
        for scope, label, limits in scopes:
            if limits.max_parallel is None:
                continue
            if not await self.store.acquire(f"parallel:{scope}", limits.max_parallel):
                raise RateLimited(f"Rate limit reached for {label}: max_parallel "
                                  f"{limits.max_parallel} requests in flight.", retry_after=1.0)
            auth.held.slots.append(f"parallel:{scope}")

    async def _requests(self, ctx: RequestContext, auth: VirtualAuth,
                        scopes: list[tuple[str, str, Limits]]) -> None:
        results = []
        for scope, label, limits in scopes:
            if limits.rpm is None:
                continue
            result = await self.store.rate(f"rpm:{scope}", limits.rpm, PERIOD, 1)
            results.append(result)
            if not result.allowed:
                _headers(ctx, "requests", results)
                raise RateLimited(f"Rate limit reached for {label}: {limits.rpm} requests per minute. "
                                  f"Try again in {duration(result.retry_after)}.", result.retry_after)
            auth.held.requests.append((f"rpm:{scope}", limits.rpm))
        _headers(ctx, "requests", results)

    async def _tokens(self, ctx: RequestContext, auth: VirtualAuth,
                      scopes: list[tuple[str, str, Limits]]) -> None:
        cost, results = rate_tokens(ctx), []
        for scope, label, limits in scopes:
            if limits.tpm is None:
                continue
            result = await self.store.rate(f"tpm:{scope}", limits.tpm, PERIOD, cost)
            results.append(result)
            if not result.allowed:
                _headers(ctx, "tokens", results)
                raise RateLimited(f"Rate limit reached for {label}: {limits.tpm} tokens per minute "
                                  f"(this request: about {cost}). Try again in "
                                  f"{duration(result.retry_after)}.", result.retry_after)
            auth.held.tokens.append((f"tpm:{scope}", min(cost, limits.tpm), limits.tpm))
        _headers(ctx, "tokens", results)

    async def _give_back(self, auth: VirtualAuth) -> None:
        """A refusal consumes nothing: undo what this request took so far."""
        for key, limit in auth.held.requests:
            await self.store.adjust_rate(key, limit, PERIOD, -1)
        for key, charged, limit in auth.held.tokens:
            await self.store.adjust_rate(key, limit, PERIOD, -charged)
        auth.held.requests.clear()
        auth.held.tokens.clear()
        await self._release(auth)

    async def _release(self, auth: VirtualAuth) -> None:
        for key in auth.held.slots:
            await self.store.release(key)
        auth.held.slots.clear()
