"""Usage the provider did not report, estimated (pure).

A provider that sends no usage (llama.cpp's server ignores ``stream_options``), or a stream
cut before its final event, would otherwise be recorded as 0 tokens and cost 0. Instead the
input gets the documented estimate of ``api/token_count.py`` (one token per 4 characters of
text, plus 4 per message and 1,000 per image; no tokenizer here: loading one may fetch files,
which must not happen on the event loop) and the output is estimated from the characters
actually delivered (text and tool-call arguments, 4 per token). Such usage is flagged
``estimated`` and priced like any other.
"""

from __future__ import annotations

from llm_router.api.token_count import CHARS_PER_TOKEN
from llm_router.api.token_count import estimate as estimate_input
from llm_router.messages import ChatRequest, Usage

__all__ = ["estimate", "reported"]


def reported(usage: Usage | None) -> bool:
    """True if ``usage`` is a measurement (every real prompt has input tokens) or already
    our estimate."""
    return usage is not None and (usage.input_tokens > 0 or usage.estimated)


def estimate(request: ChatRequest, output_chars: int) -> Usage:
    """Estimated usage of ``request`` answered with ``output_chars`` characters."""
    output_tokens = -(-output_chars // CHARS_PER_TOKEN)
    return Usage(input_tokens=estimate_input(request), output_tokens=output_tokens, estimated=True)
