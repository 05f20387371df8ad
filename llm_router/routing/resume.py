"""Mid-stream resume: a stream that fails after content was sent goes on on another
deployment, from what the client already has, and the client sees one answer.

Rules (README, "Mid-stream resume"):

- Per route (``resume: true``). A failure after the first content (the connection cut, the
  idle timeout, an in-band error) asks the route's other deployments in order (the same
  one when it is alone) to continue: the delivered text is the start of the assistant
  turn (Anthropic's assistant prefill: the model continues it), or, for providers without
  prefill, an assistant message followed by an instruction to continue without repeating.
- The continuation is held back until enough of it has come to find where it overlaps what
  was delivered (up to ``WINDOW`` characters), and released without the overlap.
- Not resumed (the explicit error stays): tool-call deltas were delivered, no text was
  delivered yet (reasoning only), the request's total timeout passed, or every
  continuation attempt failed. A continuation counts against the retry budget.
- The usage at the end is both attempts' (the first one's estimated from what it
  delivered); the record lists both attempts and says ``resumed``; the surfaces end the
  stream with an SSE comment ``: x-llm-router-resumed: 1`` (headers are gone by then).
- On a resumable route the Anthropic pass-through bytes are not relayed: chunks are
  encoded from their canonical form, so a continuation joins the same content block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk, ChatRequest, Message, Usage, merge_chunks

if TYPE_CHECKING:
    from llm_router.routing.router import Outcome

__all__ = ["Continued", "Resumption", "continuation_request", "strip_overlap"]
WINDOW = 200
MIN_OVERLAP = 3
PREFILL = frozenset({"anthropic"})
INSTRUCTION = ("Your previous answer was cut off. Continue it exactly where it stopped: do not "
               "repeat any of it, do not add a preamble, output only the rest.")


@dataclass(slots=True)
class Continued:
    """A continuation stream, opened up to its first content."""

    head: list[ChatChunk]
    rest: AsyncIterator[ChatChunk]
    outcome: Outcome
    on_failure: Callable[[ProviderError], None]


Continue = Callable[[str], Awaitable[Continued | None]]


def continuation_request(request: ChatRequest, delivered: str, provider: str) -> ChatRequest:
    """``request`` asking ``provider`` to go on from ``delivered`` (never a pass-through)."""
    if provider in PREFILL:  # the API refuses a prefill that ends in whitespace
        messages = (*request.messages, Message("assistant", delivered.rstrip()))
    else:
        messages = (*request.messages, Message("assistant", delivered), Message("user", INSTRUCTION))
    return replace(request, messages=messages, origin=None)


def strip_overlap(delivered: str, text: str) -> str:
    """``text`` without the longest start of it that ``delivered`` ends with (at least
    ``MIN_OVERLAP`` characters), and without leading whitespace the delivered text already
    ends with."""
    limit = min(len(delivered), len(text), WINDOW)
    for size in range(limit, MIN_OVERLAP - 1, -1):
        if delivered.endswith(text[:size]):
            return text[size:]
    if delivered[-1:].isspace():
        return text.lstrip()
    return text


class Resumption:
    """What a resumable stream keeps to go on elsewhere: the text delivered, whether tool-call
    deltas went out, and, once resumed, the continuation held back until its overlap is known."""

    __slots__ = ("_continue", "_delivered", "_pending", "_prior", "_text", "blocked", "resumed")

    def __init__(self, go_on: Continue) -> None:
        self._continue = go_on
        self._text: list[str] = []
        self._delivered = ""
        self._pending: list[ChatChunk] | None = None
        self._prior: Usage | None = None
        self.blocked = False
        self.resumed = 0

    def saw(self, chunk: ChatChunk) -> ChatChunk:
        """A chunk on its way to the client: noted, pass-through bytes dropped, and the final
        usage of a resumed stream made both attempts' usage."""
        self._text.append(chunk.text)
        self.blocked = self.blocked or bool(chunk.tool_calls)
        if chunk.raw is not None:
            chunk = replace(chunk, raw=None)
        usage, prior = chunk.usage, self._prior
        if chunk.finish_reason is not None and usage is not None and prior is not None and usage.input_tokens:
            chunk = replace(chunk, usage=Usage(
                prior.input_tokens + usage.input_tokens, prior.output_tokens + usage.output_tokens,
                usage.cached_input_tokens, usage.reasoning_tokens, prior.estimated or usage.estimated))
        return chunk

    def possible(self) -> bool:
        """True if the stream can go on elsewhere (text delivered, no tool-call deltas)."""
        return not self.blocked and any(self._text)

    async def resume(self, prior: Usage) -> Continued | None:
        """Open the continuation (``prior``: the failed attempt's usage), or None."""
        delivered = "".join(self._text)
        continued = await self._continue(delivered)
        if continued is None:
            return None
        self._delivered, self._pending, self._prior = delivered, [], prior
        self.resumed += 1
        continued.rest = _chain(continued.head, continued.rest)
        return continued

    def trim(self, chunk: ChatChunk) -> list[ChatChunk]:
        """What to deliver for a chunk: held back while the continuation's overlap with the
        delivered text cannot be told yet; then everything held, without the overlap."""
        if self._pending is None:
            return [chunk]
        self._pending.append(chunk)
        held = sum(len(c.text) for c in self._pending)
        if held < min(len(self._delivered), WINDOW) and chunk.finish_reason is None and not chunk.tool_calls:
            return []
        return self.flush()

    def flush(self) -> list[ChatChunk]:
        """Everything held back, without the overlap."""
        if not self._pending:
            self._pending = None
            return []
        merged = merge_chunks(self._pending)
        self._pending = None
        return [replace(merged, text=strip_overlap(self._delivered, merged.text))]


async def _chain(head: list[ChatChunk], rest: AsyncIterator[ChatChunk]) -> AsyncIterator[ChatChunk]:
    try:
        for chunk in head:
            yield chunk
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()  # type: ignore[attr-defined]
