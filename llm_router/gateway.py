"""The request lifecycle in one place: apply the policies, route the request through the
router, and hand back a response or a committed stream (its first content is in hand, so
every failure before that could still be retried or failed over; the router carries it to
its end). What happened is written to the request's state for the Observer.

The API every surface calls::

    response, outcome = await gateway.chat(name, request, ctx)
    stream = await gateway.stream(name, request, ctx)   # async-iterable of ChatChunk,
                                                        # .outcome, .aclose()

``ctx`` (a :class:`~llm_router.policies.base.RequestContext`) is optional; when given, its
``model`` and ``request`` are set and the policy chain's ``check`` runs before routing.
A same-format pass-through is the provider model's business: a surface that keeps the
client's body sets ``request.origin`` and sends ``response.raw`` when it comes back set.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from llm_router.aio import off_loop
from llm_router.messages import ChatRequest, ChatResponse
from llm_router.observability.state import RequestState, current_state
from llm_router.policies.base import PolicyChain, RequestContext
from llm_router.policies.estimate import prompt_tokens
from llm_router.providers.base import BIG_REQUEST, ChatModel
from llm_router.providers.embeddings import EmbedRequest, EmbedResponse, embed_batched, embedder_for
from llm_router.routing import kinds, output_cap
from llm_router.routing.router import Outcome, Router
from llm_router.routing.stream import ChatStream
from llm_router.routing.usage import estimate, reported

if TYPE_CHECKING:
    from llm_router.api.responses_state import Store
    from llm_router.cache.cache import ResponseCache

__all__ = ["ChatStream", "Gateway", "Outcome"]


class Gateway:
    """Turns a model name and a canonical request into an answer."""

    def __init__(self, router: Router, capture_content: bool = False,
                 policies: PolicyChain | None = None) -> None:
        self.router = router
        self.capture_content = capture_content
        self.policies = policies if policies is not None else PolicyChain()
        #: Where the Responses surface keeps responses (set at start-up when there is a database).
        self.response_store: Store | None = None
        #: The response cache (set at start-up; None: no route or deployment has ``cache:``).
        self.cache: ResponseCache | None = None

    def model_names(self) -> list[tuple[str, str]]:
        """Names a client can use and who serves each: routes, configured deployments,
        and ``provider/default-model`` for every configured provider."""
        factory = self.router.factory
        names = [(name, "llm-router") for name, _ in self.router.names()]
        for name in factory.available():
            deployment = factory.deployments[name]
            names.append((name, deployment.provider))
            if name == deployment.provider:
                names.append((f"{deployment.provider}/{deployment.model}", deployment.provider))
        return names

    async def chat(self, name: str, request: ChatRequest,
                   ctx: RequestContext | None = None) -> tuple[ChatResponse, Outcome]:
        """The whole answer, after whatever retries and fallbacks it took."""
        await self._check(name, request, ctx)
        state = self._begin(request)
        cached = await self.cache.lookup(name, request, ctx, False) if self.cache and ctx else None
        if cached is not None and cached.entry is not None and cached.entry.response is not None:
            assert cached.outcome is not None
            response, outcome = cached.entry.response, cached.outcome  # a cache hit
        else:
            response, outcome = await self.router.run(name, request, _send)
            outcome.release()
            if not reported(response.usage):  # none in the answer: estimated, flagged, never zeros
                chars = len(response.text) + sum(len(c.arguments) for c in response.tool_calls)
                response = replace(response, usage=estimate(request, chars))
            if cached is not None and self.cache is not None and ctx is not None:
                self.cache.keep(cached, response, outcome, ctx)
        if state is not None:
            _note_outcome(state, outcome)
            state.usage, state.finish_reason = response.usage, response.finish_reason
            if self.capture_content:
                state.completion.append(response.text)
        _say_lowered(ctx, outcome, request)
        return response, outcome

    async def stream(self, name: str, request: ChatRequest,
                     ctx: RequestContext | None = None) -> ChatStream:
        """A committed stream: returns once the first content (or the end) has arrived."""
        await self._check(name, request, ctx)
        state = self._begin(request)
        cached = await self.cache.lookup(name, request, ctx, True) if self.cache and ctx else None
        if cached is not None and cached.entry is not None and self.cache is not None:
            stream = self.cache.replay(cached, request)  # a cache hit
        else:
            stream = await self.router.stream(name, request)
            if cached is not None and self.cache is not None and ctx is not None:
                self.cache.record(cached, stream, ctx)
        if state is not None:
            _note_outcome(state, stream.outcome)
            state.streamed, state.first_token_at = True, time.monotonic()
        stream.observe(state, self.capture_content)
        _say_lowered(ctx, stream.outcome, request)
        return stream

    async def embed(self, name: str, request: EmbedRequest,
                    ctx: RequestContext | None = None) -> tuple[EmbedResponse, Outcome]:
        """Embeddings through the same policies and router as chat (retries, fallbacks); a
        request beyond the provider's per-call limit is split and reassembled in order."""
        if ctx is not None:
            ctx.model = name
            ctx.estimated_tokens = _embed_tokens(request)  # for tpm limits and budgets
            await self.policies.check(ctx)
        kinds.check_embed(self.router, name)

        async def attempt(model: ChatModel, canonical: EmbedRequest) -> EmbedResponse:
            return await embed_batched(embedder_for(model.deployment, model.http), canonical)

        response, outcome = await self.router.run(name, request, attempt)  # type: ignore[arg-type]
        outcome.release()
        state = current_state()
        if state is not None:
            _note_outcome(state, outcome)
            state.usage, state.finish_reason = response.usage, "stop"
        return response, outcome

    async def _check(self, name: str, request: ChatRequest, ctx: RequestContext | None) -> None:
        """The policies' ``check`` stage, before anything is routed; an embedding model is
        no chat model (``routing/kinds.py``)."""
        if ctx is not None:
            ctx.model, ctx.request = name, request
            if ctx.prompt_estimate is None and len(request.messages) >= BIG_REQUEST:
                ctx.prompt_estimate = await off_loop(prompt_tokens, request)  # limits' count
            await self.policies.check(ctx)
        kinds.check_chat(self.router, name)

    def _begin(self, request: ChatRequest) -> RequestState | None:
        state = current_state()
        if state is not None and self.capture_content:
            state.prompt = "\n".join(f"{m.role}: {m.text()}" for m in request.messages)
        return state


async def _send(model: ChatModel, request: ChatRequest) -> ChatResponse:
    return await model.send_message(request)


def _embed_tokens(request: EmbedRequest) -> int:
    """Input tokens an embedding request is expected to use: characters / 4, or the token ids."""
    return sum(len(i) if isinstance(i, tuple) else -(-len(i) // 4) for i in request.inputs)


def _say_lowered(ctx: RequestContext | None, outcome: Outcome, request: ChatRequest) -> None:
    """``x-llm-router-max-tokens-lowered`` when the answering deployment's attempt lowered the cap."""
    if ctx is not None:
        ctx.response_headers.update(output_cap.header(outcome.deployment, request))


def _note_outcome(state: RequestState, outcome: Outcome) -> None:
    d = outcome.deployment
    state.route, state.deployment, state.provider, state.model = outcome.route, d.name, d.provider, d.model
