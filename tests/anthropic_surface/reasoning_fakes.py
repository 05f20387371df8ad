"""Fakes that reason like the real hosts when the reply has ``reasoning``: OpenAI-wire
``reasoning_content`` beside ``content`` (DeepSeek, vLLM) in whole answers and stream deltas,
with the 400 OpenAI gives a model that does not reason when ``reasoning_effort`` is sent to it;
Bedrock Converse ``reasoningContent`` blocks (text and signature) first."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeOpenAI, Reply
from tests.fakes.bedrock import FakeBedrock, Frame, pad
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


BEDROCK_SIGNATURE = "ErcBCkgIBRABGAIiQL+bedrock+sig=="


class ReasoningBedrock(FakeBedrock):
    """FakeBedrock with a signed ``reasoningContent`` block before the text."""

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        body = super().success_body(reply, model, request_id)
        if reply.reasoning:
            block = {"reasoningContent": {"reasoningText": {"text": reply.reasoning, "signature": BEDROCK_SIGNATURE}}}
            body["output"]["message"]["content"].insert(0, block)
        return body

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        events = super().stream_events(reply, model, body)
        if not reply.reasoning:
            return events
        for event in events[1:]:  # the reasoning block is block 0: the others move up
            if isinstance(event.data, dict) and "contentBlockIndex" in event.data:
                event.data["contentBlockIndex"] += 1
        deltas = [{"reasoningContent": {"text": piece}} for piece in text_chunks(Reply(text=reply.reasoning))]
        deltas.append({"reasoningContent": {"signature": BEDROCK_SIGNATURE}})
        thoughts = [Frame({"contentBlockIndex": 0, "delta": delta, "p": pad(i)}, "contentBlockDelta")
                    for i, delta in enumerate(deltas)]
        stop = Frame({"contentBlockIndex": 0, "p": pad(0)}, "contentBlockStop")
        return [events[0], *thoughts, stop, *events[1:]]
