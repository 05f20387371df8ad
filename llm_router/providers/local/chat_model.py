"""The ``local`` provider as a ChatModel: canonical requests in, llama-cpp arguments out,
answered by the process's shared LocalEngine for the deployment's model file."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from llm_router.config.deployment import LocalOptions
from llm_router.errors import InvalidRequest, ProviderUnavailable
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, FinishReason, TextPart, Usage
from llm_router.providers.base import ChatModel
from llm_router.providers.local.engine import EngineOptions, LocalEngine
from llm_router.providers.local.model_file import local_problem, model_path


class LocalChatModel(ChatModel):
    """A GGUF model run in-process; its chat template comes from the GGUF file."""

    provider = "local"

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
        finish: FinishReason = "stop"
        usage = Usage()
        async with contextlib.aclosing(self.stream_message(request)) as chunks:
            async for chunk in chunks:
                parts.append(chunk.text)
                if chunk.finish_reason is not None:
                    finish, usage = chunk.finish_reason, chunk.usage or usage
        return ChatResponse(id=f"local-{uuid.uuid4().hex}", model=self.deployment.model,
                            text="".join(parts), finish_reason=finish, usage=usage)

    async def stream_message(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        """Text token by token as it is generated, then finish_reason and usage; closing it stops
        the generation."""
        arguments = llama_arguments(request, self.deployment.options.drop_params)
        async with contextlib.aclosing(self.engine().generate(arguments)) as chunks:
            async for chunk in chunks:
                yield chunk


def llama_arguments(request: ChatRequest, drop: bool = False) -> dict[str, Any]:
    """``Llama.create_chat_completion`` keyword arguments for a canonical request; a 400
    names what a local model cannot honour (tools, images, n > 1, unknown parameters)."""
    _check_supported(request, drop)
    arguments: dict[str, Any] = {"messages": [_message(m.role, m.content) for m in request.messages]}
    for name in ("max_tokens", "temperature", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            arguments[name] = value
    if request.stop:
        arguments["stop"] = list(request.stop)
    return arguments


def _message(role: str, content: object) -> dict[str, str]:
    if isinstance(content, tuple):
        if not all(isinstance(part, TextPart) for part in content):
            raise InvalidRequest("The local model reads text only.", "messages")
        content = "".join(part.text for part in content)
    return {"role": role, "content": content if isinstance(content, str) else ""}


def _check_supported(request: ChatRequest, drop: bool) -> None:
    if request.tools or any(m.role == "tool" or m.tool_calls for m in request.messages):
        raise InvalidRequest("The local model does not support tools.", "tools")
    if drop:
        return
    if request.response_format is not None and request.response_format.type != "text":
        raise InvalidRequest("The local model does not support 'response_format'.", "response_format")
    if request.n not in (None, 1):
        raise InvalidRequest("The local model cannot return n > 1 choices.", "n")
    for key in request.extra:
        raise InvalidRequest(f"Parameter '{key}' is not supported by the local model.", key)
