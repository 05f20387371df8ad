"""The ``local`` provider as a ChatModel: canonical requests in, llama-cpp arguments out,
answered by the process's shared LocalEngine for the deployment's model file."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from llm_router.config.deployment import LocalOptions
from llm_router.errors import InvalidRequest, ProviderUnavailable
from llm_router.messages import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    Message,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llm_router.providers.base import ChatModel
from llm_router.providers.local import tools
from llm_router.providers.local.engine import EngineOptions, LocalEngine
from llm_router.providers.local.model_file import local_problem, model_path


class LocalChatModel(ChatModel):
    """A GGUF model run in-process; its chat template comes from the GGUF file."""

    provider = "local"

    def prompt_texts(self, request: ChatRequest) -> list[str]:
        """The turns as the model reads them: the tools as a system block of instructions and
        signatures (``tools.system_text``), earlier calls and results as text."""
        return [message["content"] for message in _messages(request)]

    def engine(self) -> LocalEngine:
        """The engine for this deployment's model file, created once per factory."""
        problem = local_problem(self.deployment)
        if problem is not None:
            raise ProviderUnavailable(problem)
        path = str(model_path(self.deployment))
        key = f"local:{path}"
        engine = self.shared.get(key)
        if not isinstance(engine, LocalEngine):
            options = EngineOptions.from_local(self.deployment.local or LocalOptions(), path)
            engine = self.shared[key] = LocalEngine(options)
        return engine

    async def preload(self) -> None:
        """Load the model now rather than on the first request."""
        await self.engine().preload()

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        """The whole answer: the stream, gathered."""
        parts: list[str] = []
        calls: list[ToolCall] = []
        finish: FinishReason = "stop"
        usage = Usage()
        async with contextlib.aclosing(self.stream_message(request)) as chunks:
            async for chunk in chunks:
                parts.append(chunk.text)
                calls.extend(ToolCall(d.id or "", d.name or "", d.arguments) for d in chunk.tool_calls)
                if chunk.finish_reason is not None:
                    finish, usage = chunk.finish_reason, chunk.usage or usage
        return ChatResponse(id=f"local-{uuid.uuid4().hex}", model=self.deployment.model,
                            text="".join(parts), finish_reason=finish, usage=usage,
                            tool_calls=tuple(calls))

    async def stream_message(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        """Text token by token as it is generated, then finish_reason and usage; closing it stops
        the generation. With tools offered the answer is read whole first (a ``<tool_call>``
        must not reach the client as text), then sent as its text and its calls."""
        local = self.deployment.local or LocalOptions()
        arguments = llama_arguments(request, self.deployment.options.drop_params, local.tool_calls)
        chunks = self.engine().generate(arguments)
        if not tools.offered(request):
            async with contextlib.aclosing(chunks) as text_chunks:
                async for chunk in text_chunks:
                    yield chunk
            return
        async with contextlib.aclosing(_with_tool_calls(chunks, "json_schema" in arguments)) as called:
            async for chunk in called:
                yield chunk


async def _with_tool_calls(chunks: AsyncGenerator[ChatChunk, None],
                           constrained: bool) -> AsyncGenerator[ChatChunk, None]:
    """The engine's chunks gathered, then the text and the tool calls read out of it."""
    parts: list[str] = []
    async with contextlib.aclosing(chunks) as generated:
        async for chunk in generated:
            parts.append(chunk.text)
            if chunk.finish_reason is None:
                continue
            text, calls = tools.read_calls("".join(parts), constrained)
            if text:
                yield ChatChunk(text=text)
            if calls:
                yield ChatChunk(tool_calls=tuple(ToolCallDelta(i, c.id, c.name, c.arguments)
                                                 for i, c in enumerate(calls)))
            finish: FinishReason = "tool_calls" if calls else chunk.finish_reason
            yield ChatChunk(finish_reason=finish, usage=chunk.usage)


def llama_arguments(request: ChatRequest, drop: bool = False, tool_mode: str = "auto") -> dict[str, Any]:
    """``create_chat_completion``-style arguments for a canonical request: tools written into
    the prompt (``tools`` module), a grammar when a call is required; a 400 names what a
    local model cannot honour (images, n > 1, unknown parameters)."""
    _check_supported(request, drop)
    arguments: dict[str, Any] = {"messages": _messages(request)}
    for name in ("max_tokens", "temperature", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            arguments[name] = value
    if request.stop:
        arguments["stop"] = list(request.stop)
    required = tools.forced(request, tool_mode)
    if required:
        arguments["json_schema"] = tools.grammar_schema(required)
    return arguments


def _messages(request: ChatRequest) -> list[dict[str, str]]:
    """The conversation as plain-text turns, the tools in the (first) system message."""
    offered = tools.offered(request)
    messages = [_message(m) for m in request.messages]
    if offered:
        if messages and messages[0]["role"] == "system":
            messages[0]["content"] = tools.system_text(messages[0]["content"], offered)
        else:
            messages.insert(0, {"role": "system", "content": tools.system_text("", offered)})
    return messages


def _message(message: Message) -> dict[str, str]:
    text = _text(message.content)
    if message.role == "tool":
        return {"role": "user", "content": tools.result_text(text)}
    if message.tool_calls:
        text = "\n".join(part for part in (text, tools.call_text(message.tool_calls)) if part)
    return {"role": message.role, "content": text}


def _text(content: object) -> str:
    if isinstance(content, tuple):
        if not all(isinstance(part, TextPart) for part in content):
            raise InvalidRequest("The local model reads text only.", "messages")
        return "".join(part.text for part in content)
    return content if isinstance(content, str) else ""


def _check_supported(request: ChatRequest, drop: bool) -> None:
    if drop:
        return
    if request.response_format is not None and request.response_format.type != "text":
        raise InvalidRequest("The local model does not support 'response_format'.", "response_format")
    if request.n not in (None, 1):
        raise InvalidRequest("The local model cannot return n > 1 choices.", "n")
    for key in request.extra:
        raise InvalidRequest(f"Parameter '{key}' is not supported by the local model.", key)
