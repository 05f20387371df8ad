"""Rate limits of a key and its team: ``rpm``, ``tpm``, ``max_parallel``.

Exact on one instance: a sliding-window log in process (``window``): at most ``rpm``
requests and ``tpm`` tokens in every 60 seconds. Tokens are charged from the estimate at
``check`` and corrected to the real usage at ``settle``. Every response of a
limited key carries OpenAI's headers (the tighter of key and team):
``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; a refusal is 429 with
``Retry-After``."""

from __future__ import annotations

from dataclasses import dataclass

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
    total = round(seconds * 1000)
    text = _DURATIONS.get(total)
    if text is None:
        if len(_DURATIONS) >= 4096:
            _DURATIONS.clear()
        minutes, millis = divmod(total, 60_000)
        whole, frac = divmod(millis, 1000)
        text = f"{whole}.{frac:03d}".rstrip("0") + "s" if frac else f"{whole}s"
        text = _DURATIONS[total] = f"{minutes}m{text}" if minutes else text
    return text


#: Texts of ``duration`` by millisecond: a limited key's resets are near the period (59.9xx s)
#: on nearly every response, so a few hundred texts serve them all. Bounded.
_DURATIONS: dict[int, str] = {}
#: The three header names of each kind, made once.
_NAMES = {kind: (f"x-ratelimit-limit-{kind}", f"x-ratelimit-remaining-{kind}", f"x-ratelimit-reset-{kind}")
          for kind in ("requests", "tokens")}


@dataclass(frozen=True, slots=True)
class _Scope:
    """The limits of a key or of its team, with the names of their counters."""

    label: str
    limits: Limits
    rpm: str
    tpm: str
    parallel: str


def _scope(scope: str, label: str, limits: Limits) -> _Scope:
    return _Scope(label, limits, f"rpm:{scope}", f"tpm:{scope}", f"parallel:{scope}")


def _scopes(auth: VirtualAuth) -> tuple[_Scope, ...]:
    """The limited scopes of a key (itself, its team), made once per auth-cache entry."""
    scopes: tuple[_Scope, ...] | None = auth.memo.get("limits")
    if scopes is None:
        found = [_scope(f"key:{auth.key.id}", f"key '{auth.key.name}'", auth.key.rules.limits)]
        if auth.team is not None:
            found.append(_scope(f"team:{auth.team.id}", f"team '{auth.team.name}'", auth.team.rules.limits))
        scopes = auth.memo["limits"] = tuple(s for s in found if s.limits.any())
    return scopes


def _headers(ctx: RequestContext, kind: str, results: list[RateResult]) -> None:
    if not results:
        return
    tight = results[0] if len(results) == 1 else min(results, key=lambda r: (r.remaining, -r.reset_after))
    headers = ctx.response_headers
    limit, remaining, reset = _NAMES[kind]
    headers[limit] = str(tight.limit)
    headers[remaining] = str(tight.remaining)
    headers[reset] = duration(tight.reset_after)


class RateLimitPolicy(BasePolicy):
    """rpm, tpm and max_parallel for virtual keys and their teams."""

    name = "limits"

    def __init__(self, store: CounterStore) -> None:
        self.store = store

    async def admit(self, ctx: RequestContext) -> None:
        """Headers for responses refused before ``check`` (a 403, say)."""
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        scopes = _scopes(auth)
        if scopes:
            peek = self.store.peek
            _headers(ctx, "requests", [await peek(s.rpm, s.limits.rpm, PERIOD)
                                       for s in scopes if s.limits.rpm])
            _headers(ctx, "tokens", [await peek(s.tpm, s.limits.tpm, PERIOD)
                                     for s in scopes if s.limits.tpm])

    async def check(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        scopes = _scopes(auth)
        if not scopes:
            return
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
        held = auth.held
        if held.tokens:
            actual = real_tokens(ctx)
            for key, charged, limit in held.tokens:
                await self.store.adjust_rate(key, limit, PERIOD, actual - charged)
            held.tokens.clear()
        held.requests.clear()
        if held.slots:
            await self._release(auth)

    async def _slots(self, auth: VirtualAuth, scopes: tuple[_Scope, ...]) -> None:
        for scope in scopes:
            most = scope.limits.max_parallel
            if most is None:
                continue
            if not await self.store.acquire(scope.parallel, most):
                raise RateLimited(f"Rate limit reached for {scope.label}: max_parallel "
                                  f"{most} requests in flight.", retry_after=1.0)
            auth.held.slots.append(scope.parallel)

    async def _requests(self, ctx: RequestContext, auth: VirtualAuth, scopes: tuple[_Scope, ...]) -> None:
        results = []
        for scope in scopes:
            rpm = scope.limits.rpm
            if rpm is None:
                continue
            result = await self.store.rate(scope.rpm, rpm, PERIOD, 1)
            results.append(result)
            if not result.allowed:
                _headers(ctx, "requests", results)
                raise RateLimited(f"Rate limit reached for {scope.label}: {rpm} requests per minute. "
                                  f"Try again in {duration(result.retry_after)}.", result.retry_after)
            auth.held.requests.append((scope.rpm, rpm))
        _headers(ctx, "requests", results)

    async def _tokens(self, ctx: RequestContext, auth: VirtualAuth, scopes: tuple[_Scope, ...]) -> None:
        cost, results = rate_tokens(ctx), []
        for scope in scopes:
            tpm = scope.limits.tpm
            if tpm is None:
                continue
            result = await self.store.rate(scope.tpm, tpm, PERIOD, cost)
            results.append(result)
            if not result.allowed:
                _headers(ctx, "tokens", results)
                raise RateLimited(f"Rate limit reached for {scope.label}: {tpm} tokens per minute "
                                  f"(this request: about {cost}). Try again in "
                                  f"{duration(result.retry_after)}.", result.retry_after)
            auth.held.tokens.append((scope.tpm, min(cost, tpm), tpm))
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
