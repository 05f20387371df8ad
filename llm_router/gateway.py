"""The request lifecycle in one place: route the request, run attempts through the
router, and hand back a response or a stream that has committed (its first content is
in hand, so every failure before that could still be retried or failed over)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.providers.base import ChatModel
from llm_router.routing.router import Outcome, Router

__all__ = ["ChatStream", "Gateway", "Outcome"]


@dataclass(slots=True)
class ChatStream:
    """A stream whose first content chunk has already arrived. Iterate it once."""

    outcome: Outcome
    _head: list[ChatChunk]
    _rest: AsyncIterator[ChatChunk]
    _closed: bool = field(default=False)

    async def __aiter__(self) -> AsyncIterator[ChatChunk]:
        try:
            for chunk in self._head:
                yield chunk
            async for chunk in self._rest:
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the upstream stream (cancels the upstream request if still open)."""
        if not self._closed:
            self._closed = True
            self.outcome.release()
            await self._rest.aclose()  # type: ignore[attr-defined]


async def _send(model: ChatModel, request: ChatRequest) -> ChatResponse:
    return await model.send_message(request)


Opened = tuple[list[ChatChunk], AsyncIterator[ChatChunk]]


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

    def __init__(self, router: Router) -> None:
        self.router = router

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
        response, outcome = await self.router.run(name, request, _send)
        outcome.release()
        return response, outcome

    async def stream(self, name: str, request: ChatRequest) -> ChatStream:
        """A committed stream: returns once the first content (or the end) has arrived."""
        (head, rest), outcome = await self.router.run(name, request, _open_stream)
        return ChatStream(outcome, head, rest)
