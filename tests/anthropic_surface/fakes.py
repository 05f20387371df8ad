"""The Anthropic fake with what the inbound surface's tests also need: the raw request bytes
recorded, ``thinking`` blocks (with signatures) in its answers, ``count_tokens``, and the
beta-only body fields Claude Code sends accepted."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from aiohttp import web

from tests.fakes import FakeAnthropic, RecordedRequest, Reply
from tests.fakes.base import Exchange
from tests.fakes.wire import SseEvent, compact

BETA_FIELDS = frozenset({"context_management", "cache_control", "container", "mcp_servers", "speed"})


@dataclass
class ThinkingReply(Reply):
    """A reply that starts with a thinking block."""

    thinking: str = "Let me think about this."
    signature: str = "EqQBCkYIBxgCKkBsig+/=="


class RecordingAnthropic(FakeAnthropic):
    """FakeAnthropic plus raw bodies (``raw_bodies``), thinking, and count_tokens."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.raw_bodies: list[bytes] = []
        self.count_answer = 1234

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.raw_bodies.clear()

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        with self._lock:
            self.raw_bodies.append(raw)
        return await super()._record(request)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages/count_tokens", self._handle_count)
        app.router.add_post(self.chat_path, self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def _handle_count(self, request: web.Request) -> web.StreamResponse:
        async def answer(ex: Exchange) -> web.StreamResponse:
            problem = self.check_headers(ex.record.headers)
            if problem:
                return await self._send_problem(ex, problem)
            return await self._send_json(ex, 200, compact({"input_tokens": self.count_answer}))
        return await self._guarded(request, Reply(), answer)

    def validate(self, body: dict[str, Any]) -> Any:
        """Beta fields and mid-conversation ``system`` messages (newer models) are accepted."""
        known = {k: v for k, v in body.items() if k not in BETA_FIELDS}
        if isinstance(known.get("messages"), list):
            known["messages"] = [m for m in known["messages"] if not (isinstance(m, dict) and m.get("role") == "system")]
        return super().validate(known)

    @staticmethod
    def _blocks(reply: Reply) -> list[dict[str, Any]]:
        blocks = FakeAnthropic._blocks(reply)
        if isinstance(reply, ThinkingReply):
            return [{"type": "thinking", "thinking": reply.thinking, "signature": reply.signature}, *blocks]
        return blocks

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        content = [{**b, "input": json.loads(b["input"] or "{}")} if b["type"] == "tool_use" else b
                   for b in self._blocks(reply)]
        return {"id": "msg_01fake", "type": "message", "role": "assistant", "model": model, "content": content,
                **self._delta(reply), "usage": self._usage(reply, reply.output_tokens)}

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        if not isinstance(reply, ThinkingReply):
            return super().stream_events(reply, model, body)
        events = super().stream_events(Reply(**{f.name: getattr(reply, f.name) for f in fields(Reply)}), model, body)
        # shift the fake's block indices by one and put the thinking block first
        shifted = []
        for event in events:
            data = event.data
            if isinstance(data, dict) and "index" in data:
                data = {**data, "index": data["index"] + 1}
            shifted.append(SseEvent(data, event.name, event.pad))
        half = len(reply.thinking) // 2
        thinking = [
            SseEvent({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "thinking", "thinking": "", "signature": ""}}, "content_block_start"),
            *(SseEvent({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}},
                       "content_block_delta") for t in (reply.thinking[:half], reply.thinking[half:])),
            SseEvent({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "signature_delta", "signature": reply.signature}}, "content_block_delta"),
            SseEvent({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        ]
        return [shifted[0], *thinking, *shifted[1:]]
