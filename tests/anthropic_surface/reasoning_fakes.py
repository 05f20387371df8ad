"""An OpenAI-wire fake that reasons like the real hosts: ``reasoning_content`` beside ``content``
(DeepSeek, vLLM) in whole answers and stream deltas when the reply has ``reasoning``, and the
400 OpenAI gives a model that does not reason when ``reasoning_effort`` is sent to it."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeOpenAI, Reply
from tests.fakes.wire import Invalid, SseEvent, text_chunks

#: Models the fake treats as reasoning ones (OpenAI's o-series and gpt-5, DeepSeek's reasoner).
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "deepseek-reasoner")


class ReasoningOpenAI(FakeOpenAI):
    """FakeOpenAI with ``reasoning_content`` out and ``reasoning_effort`` checked per model."""

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        model = str(body.get("model", ""))
        if "reasoning_effort" in body and not model.startswith(REASONING_PREFIXES):
            return ("Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                    "reasoning_effort")
        return super().validate(body)

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        body = super().success_body(reply, model, request_id)
        if reply.reasoning:
            body["choices"][0]["message"]["reasoning_content"] = reply.reasoning
        return body

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        events = super().stream_events(reply, model, body)
        if not reply.reasoning:
            return events
        head = events[0].data
        assert isinstance(head, dict)
        thoughts = [SseEvent({**head, "choices": [{"index": 0, "delta": {"reasoning_content": piece},
                                                   "logprobs": None, "finish_reason": None}]})
                    for piece in text_chunks(Reply(text=reply.reasoning))]
        return [events[0], *thoughts, *events[1:]]
