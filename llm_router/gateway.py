"""The request lifecycle in one place: route the request, run attempts through the
router, and hand back a response or a stream that has committed (its first content is
in hand, so every failure before that could still be retried or failed over). What
happened is written to the request's state for the Observer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.observability.state import RequestState, current_state
from llm_router.providers.base import ChatModel
from llm_router.routing.router import Outcome, Router

__all__ = ["ChatStream", "Gateway", "Outcome"]
Opened = tuple[list[ChatChunk], AsyncIterator[ChatChunk]]


@dataclass(slots=True)
class ChatStream:
    """A stream whose first content chunk has already arrived. Iterate it once."""

    outcome: Outcome
    _head: list[ChatChunk]
    _rest: AsyncIterator[ChatChunk]
    _state: RequestState | None = None
    _capture: bool = False
    _closed: bool = field(default=False)

    async def __aiter__(self) -> AsyncIterator[ChatChunk]:
        state, finished = self._state, False
        try:
            for chunk in self._head:
                self._note(chunk)
                yield chunk
            async for chunk in self._rest:
                self._note(chunk)
                yield chunk
            finished = True
        except ProviderError as error:
            finished = True
            if state is not None:
                state.error_type = error.type
            raise
        finally:
            if state is not None and not finished:
                state.cancelled = True
            await self.aclose()

    def _note(self, chunk: ChatChunk) -> None:
        state = self._state
        if state is None:
            return
        if chunk.finish_reason is not None:
            state.finish_reason, state.usage = chunk.finish_reason, chunk.usage
        if self._capture and chunk.text:
            state.completion.append(chunk.text)

    async def aclose(self) -> None:
        """Close the upstream stream (cancels the upstream request if still open)."""
        if not self._closed:
            self._closed = True
            self.outcome.release()
            await self._rest.aclose()  # type: ignore[attr-defined]


Answer = tuple[ChatResponse, bytes | None]


@runtime_checkable
class PassThroughModel(Protocol):
    """A model whose wire format is the client's (OpenAI): bodies pass through untouched."""

    async def send_passthrough(self, body: dict[str, Any]) -> tuple[bytes, ChatResponse]:
        """Forward ``body``; the raw answer and its canonical reading."""
        ...


async def _send(model: ChatModel, request: ChatRequest) -> Answer:
    return await model.send_message(request), None


async def _open_stream(model: ChatModel, request: ChatRequest) -> Opened:
    """Start a stream and read up to its first content (or its end)."""
    chunks = model.stream_message(request)
    head: list[ChatChunk] = []
    try:
        async for chunk in chunks:
            head.append(chunk)
            if chunk.has_content or chunk.finish_reason is not None:
                return head, chunks
    except BaseException:
        await chunks.aclose()  # type: ignore[attr-defined]
        raise
    return head, chunks


class Gateway:
    """Turns a model name and a canonical request into an answer."""

    def __init__(self, router: Router, capture_content: bool = False) -> None:
        self.router = router
        self.capture_content = capture_content

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

    async def chat(self, name: str, request: ChatRequest) -> tuple[ChatResponse, Outcome]:
        """The whole answer, after whatever retries and fallbacks it took."""
        (response, _), outcome = await self._chat(name, request, _send)
        return response, outcome

    async def chat_passthrough(self, name: str, request: ChatRequest,
                               body: dict[str, Any]) -> tuple[ChatResponse, Outcome, bytes | None]:
        """Like ``chat``; when the deployment that answers speaks OpenAI's format, the
        client's ``body`` goes upstream as it is and the upstream bytes come back too."""

        async def attempt(model: ChatModel, canonical: ChatRequest) -> Answer:
            if isinstance(model, PassThroughModel):
                raw, response = await model.send_passthrough(body)
                return response, raw
            return await model.send_message(canonical), None

        (response, raw), outcome = await self._chat(name, request, attempt)
        return response, outcome, raw

    async def _chat(self, name: str, request: ChatRequest,
                    attempt: Callable[[ChatModel, ChatRequest], Awaitable[Answer]]) -> tuple[Answer, Outcome]:
        state = self._begin(request)
        (response, raw), outcome = await self.router.run(name, request, attempt)
        outcome.release()
        if state is not None:
            _note_outcome(state, outcome)
            state.usage, state.finish_reason = response.usage, response.finish_reason
            if self.capture_content:
                state.completion.append(response.text)
        return (response, raw), outcome

    async def stream(self, name: str, request: ChatRequest) -> ChatStream:
        """A committed stream: returns once the first content (or the end) has arrived."""
        state = self._begin(request)
        (head, rest), outcome = await self.router.run(name, request, _open_stream)
        if state is not None:
            _note_outcome(state, outcome)
            state.streamed, state.first_token_at = True, time.monotonic()
        return ChatStream(outcome, head, rest, state, self.capture_content)

    def _begin(self, request: ChatRequest) -> RequestState | None:
        state = current_state()
        if state is not None and self.capture_content:
            state.prompt = "\n".join(f"{m.role}: {m.text()}" for m in request.messages)
        return state


def _note_outcome(state: RequestState, outcome: Outcome) -> None:
    d = outcome.deployment
    state.route, state.deployment, state.provider, state.model = outcome.route, d.name, d.provider, d.model
