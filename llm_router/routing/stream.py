"""A routed stream's life, from the first attempt to its last chunk.

The router opens a stream with :func:`open_stream` inside its retry loop: every failure
before the first content (or the end) is retried or failed over, invisibly. Once content
is in hand the stream *commits* and :class:`ChatStream` carries it to its end:

- a failure after that is the client's to see (it raises ProviderError) and counts
  against the deployment's health, like a failed attempt;
- the request's ``total`` timeout still applies: it bounds the whole request, streamed
  body included (``stream_idle`` bounds each gap between chunks);
- the deployment's in-flight slot is released exactly once, when the stream ends, fails
  or is closed;
- usage the upstream did not report (none sent, or the stream cut before it) is estimated
  from what was delivered and flagged ``estimated`` (``routing/usage.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from llm_router import aio
from llm_router.errors import ProviderError, UpstreamTimeout
from llm_router.messages import ChatChunk, ChatRequest
from llm_router.observability.state import RequestState
from llm_router.providers.base import ChatModel
from llm_router.routing.resume import Resumption
from llm_router.routing.usage import estimate, reported

if TYPE_CHECKING:
    from llm_router.routing.router import Outcome

__all__ = ["ChatStream", "Opened", "StreamTap", "open_stream"]
Opened = tuple[list[ChatChunk], AsyncIterator[ChatChunk]]


class StreamTap(Protocol):
    """Sees every chunk a stream delivers, then its end (the response cache records with one)."""

    def chunk(self, chunk: ChatChunk) -> None:
        """A chunk on its way to the client."""

    def end(self, completed: bool) -> None:
        """The stream is over: ``completed`` when it ended on its own (not failed or cancelled)."""


async def open_stream(model: ChatModel, request: ChatRequest) -> Opened:
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


class ChatStream:
    """A stream whose first content chunk has already arrived. Iterate it once; closing
    it (or leaving the loop) closes the upstream request."""

    __slots__ = ("_capture", "_chars", "_clock", "_closed", "_deadline", "_gap", "_head",
                 "_on_failure", "_request", "_rest", "_resume", "_state", "_tap", "_timed_out",
                 "outcome")

    def __init__(self, outcome: Outcome, head: list[ChatChunk], rest: AsyncIterator[ChatChunk], *,
                 request: ChatRequest, deadline: float, clock: Callable[[], float],
                 idle_bound: float | None, on_failure: Callable[[ProviderError], None],
                 resume: Resumption | None = None) -> None:
        self.outcome = outcome
        self._resume = resume  # the route resumes streams that fail midway (routing/resume.py)
        self._head, self._rest = head, rest
        self._request = request
        self._chars = 0  # characters delivered, for usage the upstream does not report
        self._deadline, self._clock = deadline, clock
        # Each wait is already bounded by the upstream's idle timeout when there is one:
        # a timer for the deadline is armed only once the deadline is nearer than that.
        self._gap = float("inf") if idle_bound is None else idle_bound
        self._on_failure = on_failure
        self._state: RequestState | None = None
        self._capture = False
        self._closed = False
        self._timed_out = False
        self._tap: StreamTap | None = None

    def observe(self, state: RequestState | None, capture: bool = False) -> None:
        """Note finish reason, usage, failure or cancellation (and the text when
        ``capture``) on ``state`` as the stream goes."""
        self._state, self._capture = state, capture

    def tap(self, tap: StreamTap) -> None:
        """Show ``tap`` every chunk delivered and the stream's end."""
        self._tap = tap

    async def __aiter__(self) -> AsyncIterator[ChatChunk]:
        finished = completed = False
        try:
            for chunk in self._head:
                yield self._note(chunk)
            while (pieces := await self._advance()) is not None:
                for piece in pieces:
                    yield self._note(piece)
            finished = completed = True
        except ProviderError as error:
            finished = True
            self._failed(error)
            raise
        finally:
            self._ended(cancelled=not finished)
            if self._tap is not None:
                self._tap.end(completed)
            await self.aclose()

    @property
    def resumed(self) -> bool:
        """True once the stream went on on another deployment after a mid-stream failure."""
        return self._resume is not None and self._resume.resumed > 0

    async def _advance(self) -> list[ChatChunk] | None:
        """The next chunks for the client (None at the end), going on elsewhere after a
        mid-stream failure when the route resumes streams."""
        resume = self._resume
        while True:
            try:
                chunk = await self._next()
            except ProviderError as error:
                if not await self._resumed_after(error):
                    raise
                continue
            if resume is None:
                return None if chunk is None else [chunk]
            pieces = resume.flush() if chunk is None else resume.trim(chunk)
            if pieces or chunk is None:
                return pieces or None

    async def _resumed_after(self, error: ProviderError) -> bool:
        """Continue on another deployment; False when the stream cannot go on faithfully."""
        resume = self._resume
        if resume is None or self._timed_out or not resume.possible():
            return False
        self.outcome.release()
        await self._rest.aclose()  # type: ignore[attr-defined]
        continued = await resume.resume(estimate(self._request, self._chars))
        if continued is None:
            return False
        self._on_failure(error)  # the first deployment failed midway
        self._rest, self.outcome, self._on_failure = continued.rest, continued.outcome, continued.on_failure
        if self._state is not None:
            d = continued.outcome.deployment
            self._state.resumed = True
            self._state.deployment, self._state.provider, self._state.model = d.name, d.provider, d.model
        return True

    async def _next(self) -> ChatChunk | None:
        remaining = self._deadline - self._clock()
        if remaining > self._gap:
            return await anext(self._rest, None)
        try:
            if remaining <= 0:
                raise TimeoutError
            async with aio.timeout(remaining):
                return await anext(self._rest, None)
        except TimeoutError:
            self._timed_out = True
            raise UpstreamTimeout("The request's total timeout passed during the stream.",
                                  provider=self.outcome.deployment.provider) from None

    def _failed(self, error: ProviderError) -> None:
        if self._state is not None:
            self._state.error_type = error.type
            self._state.finish_reason = "error"  # the upstream cut it short
        if not self._timed_out:
            self._on_failure(error)  # the deployment failed mid-stream; our own deadline did not

    def _ended(self, cancelled: bool) -> None:
        """Without a final chunk the usage is what was delivered, estimated."""
        state = self._state
        if state is None:
            return
        state.cancelled = state.cancelled or cancelled
        if state.usage is None:
            state.usage = estimate(self._request, self._chars)

    def _note(self, chunk: ChatChunk) -> ChatChunk:
        if self._resume is not None:
            chunk = self._resume.saw(chunk)
        self._chars += len(chunk.text)
        for delta in chunk.tool_calls:
            self._chars += len(delta.arguments)
        if chunk.finish_reason is not None and not reported(chunk.usage):
            chunk = replace(chunk, usage=estimate(self._request, self._chars))
        state = self._state
        if state is not None:
            if chunk.finish_reason is not None:
                state.finish_reason, state.usage = chunk.finish_reason, chunk.usage
            if self._capture and chunk.text:
                state.completion.append(chunk.text)
        if self._tap is not None:
            self._tap.chunk(chunk)
        return chunk

    async def aclose(self) -> None:
        """Close the upstream stream (cancels the upstream request if still open)."""
        if not self._closed:
            self._closed = True
            self.outcome.release()
            await self._rest.aclose()  # type: ignore[attr-defined]

