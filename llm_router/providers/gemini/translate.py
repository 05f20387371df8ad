"""Pure translation between canonical types and Gemini ``generateContent``.

Wire format: https://ai.google.dev/api/generate-content (the same body serves the Gemini
API and Vertex AI). No I/O here; the stream side lives in ``gemini/stream.py``.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

import orjson

from llm_router.errors import InvalidRequest
from llm_router.messages import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    FinishReason,
    Message,
    TextPart,
    ToolCall,
    Usage,
)
from llm_router.providers import params, reasoning
from llm_router.providers.events import as_dict, as_int, as_list, as_opt_str, as_str

#: The thought signature of a Gemini 3 function call travels inside our tool-call id,
#: so that the client sends it back with the id and Gemini gets it on the next turn.
SIGNATURE_SEPARATOR = "__thought__"

CONTENT_FILTER = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
                            "MODEL_ARMOR", "JAILBREAK"})
ERRORS = frozenset({"MALFORMED_FUNCTION_CALL", "MALFORMED_RESPONSE", "MISSING_THOUGHT_SIGNATURE"})


def finish_reason(value: Any, has_calls: bool) -> FinishReason:
    """Canonical finish reason; a function call still ends with ``STOP`` on the wire."""
    value = as_opt_str(value)
    if value in (None, "", "STOP", "FINISH_REASON_UNSPECIFIED"):
        return "tool_calls" if has_calls else "stop"
    if value == "MAX_TOKENS":
        return "length"
    if value in CONTENT_FILTER or (value or "").startswith("IMAGE_"):
        return "content_filter"
    return "error" if value in ERRORS else "other"


# ----------------------------------------------------------------- request


def part_to_wire(part: ContentPart) -> dict[str, Any]:
    """A content part as a Gemini part: inline data for ``data:`` URLs, else file data."""
    if isinstance(part, TextPart):
        return {"text": part.text}
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        return {"inlineData": {"mimeType": header[5:].split(";", 1)[0], "data": data}}
    mime = mimetypes.guess_type(part.url.split("?", 1)[0])[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": part.url}}


def split_call_id(call_id: str) -> tuple[str, str | None]:
    """Our tool-call id and the Gemini thought signature it may carry."""
    head, sep, signature = call_id.partition(SIGNATURE_SEPARATOR)
    return head, (signature if sep and signature else None)


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        raise InvalidRequest("tool call arguments must be a JSON object.", "messages") from None
    return value if isinstance(value, dict) else {"value": value}


def _model_parts(message: Message) -> list[dict[str, Any]]:
    parts = _content_parts(message)
    for call in message.tool_calls:
        call_id, signature = split_call_id(call.id)
        part: dict[str, Any] = {"functionCall": {"id": call_id, "name": call.name,
                                                 "args": _arguments(call.arguments)}}
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _content_parts(message: Message) -> list[dict[str, Any]]:
    content = message.content
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"text": content}]
    return [part_to_wire(p) for p in content]


def _tool_result(message: Message, names: dict[str, str]) -> dict[str, Any]:
    call_id, _ = split_call_id(message.tool_call_id or "")
    name = names.get(call_id) or message.name
    if not name:
        raise InvalidRequest("A tool message answers no earlier tool call of this conversation.",
                             "messages")
    text = message.text()
    try:
        value = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        value = text
    response = value if isinstance(value, dict) else {"result": value}
    return {"functionResponse": {"id": call_id, "name": name, "response": response}}


def messages_to_wire(messages: tuple[Message, ...]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``systemInstruction`` and ``contents``: system text hoisted, tool results become
    user ``functionResponse`` parts (named after their call), same-role turns merged."""
    system = [m.text() for m in messages if m.role == "system"]
    names = {split_call_id(c.id)[0]: c.name for m in messages for c in m.tool_calls}
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            role, parts = "user", [_tool_result(message, names)]
        elif message.role == "assistant":
            role, parts = "model", _model_parts(message)
        else:
            role, parts = "user", _content_parts(message)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    instruction = {"parts": [{"text": "\n\n".join(system)}]} if system else None
    return instruction, contents


def request_to_body(request: ChatRequest, drop_unsupported: bool = False,
                    provider: str = "gemini") -> dict[str, Any]:
    """The ``GenerateContentRequest`` for a canonical request; 400 for what Gemini cannot do."""
    _check_supported(request, drop_unsupported, provider)
    system, contents = messages_to_wire(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    _tools_to_wire(request, body)
    config = generation_config(request)
    if config:
        body["generationConfig"] = config
    return body


def _check_supported(request: ChatRequest, drop: bool, provider: str = "gemini") -> None:
    """The parameter policy (``providers/params.py``): 400 for what Gemini would silently
    change, unless dropped; reasoning_effort's level is checked here."""
    params.decide(provider, request, drop)
    params.effort(request)


def generation_config(request: ChatRequest) -> dict[str, Any]:
    """``generationConfig``: sampling, limits, stop sequences, JSON output, thinking."""
    config: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"),
                         ("max_tokens", "maxOutputTokens"), ("seed", "seed")):
        value = getattr(request, ours)
        if value is not None:
            config[theirs] = value
    for ours, theirs in (("frequency_penalty", "frequencyPenalty"),
                         ("presence_penalty", "presencePenalty"), ("top_k", "topK")):
        if request.extra.get(ours) is not None:
            config[theirs] = request.extra[ours]
    if request.stop:
        config["stopSequences"] = list(request.stop)
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema:
            config["responseJsonSchema"] = fmt.schema
    thinking = reasoning.gemini_thinking(request.model, reasoning.requested(request))
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _tools_to_wire(request: ChatRequest, body: dict[str, Any]) -> None:
    if not request.tools:
        return
    declarations = []
    for tool in request.tools:
        declaration: dict[str, Any] = {"name": tool.name, "description": tool.description or ""}
        if tool.parameters:
            declaration["parametersJsonSchema"] = tool.parameters
        declarations.append(declaration)
    body["tools"] = [{"functionDeclarations": declarations}]
    choice = request.tool_choice
    if choice is not None:
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "function": "ANY"}[choice.mode]
        config: dict[str, Any] = {"mode": mode}
        if choice.mode == "function" and choice.name:
            config["allowedFunctionNames"] = [choice.name]
        body["toolConfig"] = {"functionCallingConfig": config}


# ----------------------------------------------------------------- response


def usage_from_wire(meta: dict[str, Any] | None) -> Usage:
    """Canonical usage: the prompt count includes cached tokens; thinking is output."""
    if not meta:
        return Usage()
    meta = as_dict(meta)
    prompt = as_int(meta.get("promptTokenCount")) + as_int(meta.get("toolUsePromptTokenCount"))
    thoughts = as_int(meta.get("thoughtsTokenCount"))
    output = as_int(meta.get("candidatesTokenCount")) + thoughts
    return Usage(prompt, output, as_int(meta.get("cachedContentTokenCount")), reasoning_tokens=thoughts)


def new_call_id() -> str:
    """An id for a function call Gemini sent without one."""
    return "call_" + uuid.uuid4().hex[:24]


def call_from_part(part: dict[str, Any]) -> ToolCall | None:
    """The tool call in a ``functionCall`` part (its signature folded into the id)."""
    if part.get("functionCall") is None:
        return None
    call = as_dict(part["functionCall"])
    call_id = as_opt_str(call.get("id")) or new_call_id()
    signature = as_opt_str(part.get("thoughtSignature"))
    if signature:
        call_id += SIGNATURE_SEPARATOR + signature
    return ToolCall(call_id, as_str(call.get("name")), orjson.dumps(as_dict(call.get("args"))).decode())


def candidate_parts(body: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The first candidate and its parts (none for a blocked candidate's ``content: {}``)."""
    candidates = as_list(body.get("candidates"))
    if not candidates:
        return None, []
    candidate = as_dict(candidates[0])
    return candidate, [as_dict(p) for p in as_list(as_dict(candidate.get("content")).get("parts"))]


def answer_text(parts: list[dict[str, Any]]) -> str:
    """The answer's text; thought summaries (``thought: true``) are not part of it."""
    return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))


def thought_text(parts: list[dict[str, Any]]) -> str:
    """The thought summaries (parts with ``thought: true``, sent with ``includeThoughts``)."""
    return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and p.get("thought"))


def response_from_body(body: dict[str, Any]) -> ChatResponse:
    """The canonical response for a ``GenerateContentResponse``; a blocked prompt
    (``promptFeedback.blockReason``, no candidates) is a ``content_filter`` finish."""
    candidate, parts = candidate_parts(body)
    calls = tuple(c for c in (call_from_part(p) for p in parts) if c is not None)
    if candidate is None:
        blocked = as_dict(body.get("promptFeedback")).get("blockReason")
        reason: FinishReason = "content_filter" if blocked else "other"
    else:
        reason = finish_reason(candidate.get("finishReason"), bool(calls))
    return ChatResponse(
        id=as_str(body.get("responseId")),
        model=as_str(body.get("modelVersion")),
        text=answer_text(parts),
        finish_reason=reason,
        usage=usage_from_wire(body.get("usageMetadata")),
        tool_calls=calls,
        reasoning=thought_text(parts),
    )


def error_from_body(body: Any) -> tuple[str | None, str]:
    """The google.rpc ``status`` (``API_KEY_INVALID`` when the key was refused) and message."""
    if isinstance(body, list) and body:
        body = body[0]
    error = body["error"]
    reasons = [d.get("reason") for d in error.get("details") or () if isinstance(d, dict)]
    kind = "API_KEY_INVALID" if "API_KEY_INVALID" in reasons else error.get("status")
    return kind, str(error.get("message") or "")


def retry_delay(body: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"30s"``), if any."""
    if isinstance(body, list) and body:
        body = body[0]
    try:
        details = body["error"].get("details") or ()
    except (KeyError, TypeError, AttributeError):
        return None
    for detail in details:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0.0, float(delay[:-1]))
            except ValueError:
                return None
    return None
