"""Token estimates before the call (for tpm and budget reservations) and the real counts after."""

from __future__ import annotations

from llm_router.messages import ChatRequest, TextPart
from llm_router.policies.base import RequestContext

#: Output tokens assumed for a budget reservation when the request sets no ``max_tokens``.
DEFAULT_OUTPUT_TOKENS = 4096
_CHARS_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 4


def prompt_tokens(request: ChatRequest) -> int:
    """A cheap upper-leaning estimate: characters / 4 plus a few tokens per message."""
    chars = 0
    for message in request.messages:
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        elif content:
            chars += sum(len(p.text) for p in content if isinstance(p, TextPart))
        chars += sum(len(c.arguments) + len(c.name) for c in message.tool_calls)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(str(tool.parameters or ""))
    return -(-chars // _CHARS_PER_TOKEN) + _TOKENS_PER_MESSAGE * len(request.messages)


def estimate(ctx: RequestContext) -> tuple[int, int | None]:
    """(prompt tokens, max output tokens or None) expected for the request."""
    request = ctx.request
    if request is None:
        return ctx.estimated_tokens, None
    prompt = ctx.prompt_estimate
    if prompt is None:
        prompt = ctx.prompt_estimate = prompt_tokens(request)
    return prompt, request.max_tokens


def rate_tokens(ctx: RequestContext) -> int:
    """Tokens a tpm limit charges up front: the seam's estimate, else prompt + max_tokens."""
    if ctx.estimated_tokens > 0:
        return ctx.estimated_tokens
    prompt, output = estimate(ctx)
    return prompt + (output or 0)


def real_tokens(ctx: RequestContext) -> int:
    """Tokens the request really used (0 when no usage came back)."""
    usage = ctx.state.usage
    return usage.input_tokens + usage.output_tokens if usage is not None else 0
