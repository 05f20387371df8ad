"""A validated Anthropic Messages body decoded into the canonical request (pure).

The client's body is kept as ``origin = WireBody("anthropic", body, raw, headers)``: an
Anthropic deployment sends it upstream as it came. Every other provider gets the canonical
request, which cannot say everything Messages can; what it loses is listed in ``dropped``
(sent as ``x-llm-router-dropped-params``): ``cache_control`` (their prompt caching is
automatic), thinking blocks of earlier turns, ``top_k``, server tools, non-text documents, and
fields we do not model (``context_management``...).

The ``thinking`` setting becomes ``ChatRequest.reasoning`` (``providers/reasoning.py`` maps it per
model): ``enabled`` keeps its exact ``budget_tokens`` and gets the level of that budget (up to
2048 ``low``, up to 8192 ``medium``, more ``high``); ``adaptive`` the level of
``output_config.effort`` (``max`` is ``xhigh``; none given: ``medium``); ``disabled`` the level
``none``. It is listed as dropped only on a deployment whose model cannot take it
(:meth:`Decoded.dropped_on`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

from llm_router.api.anthropic_schema import (
    Base64Source,
    ContentSource,
    CountTokensIn,
    DocumentBlock,
    ImageBlock,
    MessageParam,
    MessagesIn,
    RedactedThinkingBlock,
    TextBlock,
    TextSource,
    ThinkingBlock,
    ThinkingParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
)
from llm_router.errors import InvalidRequest
from llm_router.messages import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    WireBody,
)
from llm_router.providers import reasoning

if TYPE_CHECKING:
    from llm_router.config.deployment import Deployment

#: Client headers an Anthropic upstream gets as they came; no other provider sees them.
FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")
#: Top-level fields the canonical request carries; any other one is dropped for non-Anthropic
#: upstreams (and listed).
MAPPED = frozenset({"model", "max_tokens", "messages", "system", "stream", "temperature", "top_p",
                    "stop_sequences", "metadata", "tools", "tool_choice"})


@dataclass(frozen=True, slots=True)
class Decoded:
    """A Messages request read: the canonical request and what it could not carry."""

    request: ChatRequest
    dropped: tuple[str, ...]
    #: What is lost with the reasoning setting: ``thinking``, and ``output_config.effort`` when
    #: adaptive thinking took its level from it.
    with_thinking: tuple[str, ...] = ("thinking",)

    def dropped_on(self, deployment: Deployment) -> tuple[str, ...]:
        """What the deployment loses: ``dropped``, and ``with_thinking`` when its model cannot
        take the reasoning setting."""
        request = replace(self.request, model=deployment.model)
        if reasoning.dropped(deployment.spec_name or deployment.provider, deployment.provider, request):
            return (*self.dropped, *self.with_thinking)
        return self.dropped


class _Drops:
    """The names of what the canonical request leaves out, in first-seen order."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def add(self, name: str) -> None:
        self.names.setdefault(name, None)

    def mark_cache(self, block: BaseModel) -> None:
        if getattr(block, "cache_control", None) is not None:
            self.add("cache_control")


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client headers an Anthropic upstream gets unchanged."""
    return {name: headers[name] for name in FORWARDED_HEADERS if name in headers}


def decode(body: CountTokensIn, raw: bytes, headers: Mapping[str, str],
           data: dict[str, Any] | None = None) -> Decoded:
    """The canonical request for a validated Messages (or count_tokens) body; ``model`` is
    resolved later."""
    drops = _Drops()
    messages = [*_system(body.system, drops)]
    for index, message in enumerate(body.messages):
        messages.extend(_message(message, index, drops))
    full = body if isinstance(body, MessagesIn) else None
    _note_unmapped(body, drops)
    request = ChatRequest(
        model="",
        messages=tuple(messages),
        temperature=full.temperature if full else None,
        top_p=full.top_p if full else None,
        max_tokens=full.max_tokens if full else None,
        stop=tuple(full.stop_sequences or ()) if full else (),
        user=full.metadata.user_id if full and full.metadata else None,
        tools=_tools(body.tools, drops),
        tool_choice=_tool_choice(body.tool_choice),
        parallel_tool_calls=_parallel(body.tool_choice),
        response_format=_response_format(body.model_extra or {}),
        include_usage=True,
        reasoning=_reasoning(body.thinking, body.model_extra or {}),
        origin=WireBody("anthropic", orjson.loads(raw) if data is None else data, raw,
                        forwarded_headers(headers)),
    )
    return Decoded(request, tuple(drops.names), _with_thinking(body))


def _note_unmapped(body: CountTokensIn, drops: _Drops) -> None:
    if getattr(body, "top_k", None) is not None:
        drops.add("top_k")
    adaptive = body.thinking is not None and body.thinking.type == "adaptive"
    for name in body.model_extra or {}:
        if name == "output_config":
            config = (body.model_extra or {})[name]
            if isinstance(config, dict) and set(config) - {"format"} - ({"effort"} if adaptive else set()):
                drops.add("output_config.effort")
        elif name not in MAPPED:
            drops.add(name)


def _with_thinking(body: CountTokensIn) -> tuple[str, ...]:
    config = (body.model_extra or {}).get("output_config")
    adaptive = body.thinking is not None and body.thinking.type == "adaptive"
    with_effort = adaptive and isinstance(config, dict) and "effort" in config
    return ("thinking", "output_config.effort") if with_effort else ("thinking",)


def _reasoning(thinking: ThinkingParam | None, extra: dict[str, Any]) -> Reasoning | None:
    """``thinking`` as the canonical reasoning setting (see the module's docstring)."""
    if thinking is None:
        return None
    if thinking.type == "disabled":
        return Reasoning("none")
    if thinking.type == "adaptive":
        config = extra.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        return Reasoning(reasoning.ANTHROPIC_EFFORTS.get(effort, "medium") if isinstance(effort, str)
                         else "medium")
    budget = thinking.budget_tokens
    return Reasoning(reasoning.level_for_budget(budget) if budget else "medium", budget or None)


def _system(system: str | list[TextBlock] | None, drops: _Drops) -> list[Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [Message("system", system)] if system else []
    for block in system:
        drops.mark_cache(block)
    text = "\n\n".join(block.text for block in system)
    return [Message("system", text)] if text else []


def _message(message: MessageParam, index: int, drops: _Drops) -> list[Message]:
    content = message.content
    if isinstance(content, str):
        return [Message(message.role, content)]
    if message.role == "assistant":
        return [_assistant(content, drops)]
    if message.role == "system":
        return [Message("system", "".join(_text_parts(content, index, drops)))]
    return _user(content, index, drops)


def _text_parts(blocks: list[Any], index: int, drops: _Drops) -> list[str]:
    return [part.text for part in _parts(blocks, index, drops) if isinstance(part, TextPart)]


def _assistant(blocks: list[Any], drops: _Drops) -> Message:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in blocks:
        drops.mark_cache(block)
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            calls.append(ToolCall(block.id, block.name, orjson.dumps(block.input).decode()))
        elif isinstance(block, ThinkingBlock | RedactedThinkingBlock):
            drops.add("thinking_blocks")
        else:
            drops.add(f"content.{block.type}")
    return Message("assistant", "".join(texts) or None, tuple(calls))


def _user(blocks: list[Any], index: int, drops: _Drops) -> list[Message]:
    """Tool results become ``tool`` messages (first, as Anthropic requires them first);
    the rest of the turn one ``user`` message."""
    out: list[Message] = []
    rest: list[Any] = []
    for block in blocks:
        if isinstance(block, ToolResultBlock):
            drops.mark_cache(block)
            out.append(_tool_result(block, index, drops))
        else:
            rest.append(block)
    parts = _parts(rest, index, drops)
    if parts or not out:
        out.append(Message("user", tuple(parts)))
    return out


def _tool_result(block: ToolResultBlock, index: int, drops: _Drops) -> Message:
    content: str | tuple[ContentPart, ...]
    if block.content is None or isinstance(block.content, str):
        content = block.content or ""
        if block.is_error:
            content = "Error: " + content
    else:
        parts = _parts(block.content, index, drops)
        content = tuple(parts)
        if block.is_error:
            content = (TextPart("Error: "), *parts)
    return Message("tool", content, tool_call_id=block.tool_use_id)


def _parts(blocks: list[Any], index: int, drops: _Drops) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for block in blocks:
        drops.mark_cache(block)
        part = _part(block, drops)
        if part is not None:
            parts.append(part)
    return parts


def _part(block: Any, drops: _Drops) -> ContentPart | None:
    if isinstance(block, TextBlock):
        return TextPart(block.text)
    if isinstance(block, ImageBlock):
        source = block.source
        if isinstance(source, Base64Source):
            return ImagePart(f"data:{source.media_type};base64,{source.data}")
        if isinstance(source, URLSource):
            return ImagePart(source.url)
        drops.add(f"image.source.{source.type}")
        return None
    if isinstance(block, DocumentBlock):
        return _document(block, drops)
    if isinstance(block, ThinkingBlock | RedactedThinkingBlock):
        drops.add("thinking_blocks")
        return None
    drops.add(f"content.{getattr(block, 'type', 'unknown')}")
    return None


def _document(block: DocumentBlock, drops: _Drops) -> ContentPart | None:
    """Text documents become text (titled); PDFs and files have no canonical form."""
    source = block.source
    text: str | None = None
    if isinstance(source, TextSource):
        text = source.data
    elif isinstance(source, ContentSource):
        content = source.content
        text = content if isinstance(content, str) else "".join(
            str((b.model_extra or {}).get("text", "")) for b in content if b.type == "text")
    if text is None:
        drops.add(f"document.source.{source.type}")
        return None
    head = f"{block.title}\n\n" if block.title else ""
    return TextPart(head + text)


def _tools(tools: list[ToolParam] | None, drops: _Drops) -> tuple[Tool, ...]:
    out: list[Tool] = []
    for tool in tools or ():
        drops.mark_cache(tool)
        if tool.input_schema is None or (tool.type not in (None, "custom")):
            drops.add(f"tools.{tool.name}")  # a server tool: only Anthropic runs it
            continue
        schema = {k: v for k, v in tool.input_schema.items() if k != "$schema"}
        strict = (tool.model_extra or {}).get("strict")
        out.append(Tool(tool.name, tool.description, schema, strict if isinstance(strict, bool) else None))
    return tuple(out)


def _tool_choice(choice: ToolChoiceParam | None) -> ToolChoice | None:
    if choice is None:
        return None
    if choice.type == "tool":
        if not choice.name:
            raise InvalidRequest("tool_choice.name: required when type is 'tool'.", "tool_choice.name")
        return ToolChoice("function", choice.name)
    mode = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
    return ToolChoice(mode)  # type: ignore[arg-type]


def _parallel(choice: ToolChoiceParam | None) -> bool | None:
    return False if choice is not None and choice.disable_parallel_tool_use else None


def _response_format(extra: dict[str, Any]) -> ResponseFormat | None:
    config = extra.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return ResponseFormat("json_schema", schema if isinstance(schema, dict) else None, "response")
    return None
