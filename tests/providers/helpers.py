"""Feeding recorded payloads through the pure translators."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_router.messages import (
    ChatChunk,
    ChatRequest,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from llm_router.providers.base import StreamTranslator
from llm_router.providers.sse import SSEDecoder

PAYLOADS = Path(__file__).parent.parent / "payloads"


def load_json(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@dataclass
class Collected:
    text: str = ""
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    final: ChatChunk | None = None
    chunks: int = 0


def run_stream(translator: StreamTranslator, name: str, piece: int = 7) -> Collected:
    """Feed the recorded stream in ``piece``-byte reads; accumulate like a client would."""
    raw = (PAYLOADS / name).read_bytes()
    decoder, out = SSEDecoder(), Collected()
    for start in range(0, len(raw), piece):
        for event in decoder.feed(raw[start:start + piece]):
            for chunk in translator.feed(event):
                out.chunks += 1
                out.text += chunk.text
                for delta in chunk.tool_calls:
                    call = out.calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = delta.id or call["id"]
                    call["name"] = delta.name or call["name"]
                    call["arguments"] += delta.arguments
                if chunk.finish_reason is not None:
                    out.final = chunk
        if translator.done:
            break
    return out


RICH_REQUEST = ChatRequest(
    model="m",
    messages=(
        Message("system", "Be terse."),
        Message("user", (TextPart("What is in this image and the weather?"),
                         ImagePart("data:image/png;base64,iVBORw0KGgo=", "low"))),
        Message("assistant", None, tool_calls=(ToolCall("call_1", "get_weather", '{"city":"Paris"}'),)),
        Message("tool", "18C and sunny", tool_call_id="call_1"),
        Message("user", "Thanks. Summarise."),
    ),
    temperature=0.2, top_p=0.9, max_tokens=300, stop=("END",),
    tools=(Tool("get_weather", "Weather for a city",
                {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),),
    tool_choice=ToolChoice("required"),
    response_format=ResponseFormat("json_schema", {"type": "object", "properties": {"a": {"type": "string"}}}, "answer"),
)
