"""Fake Azure OpenAI upstream: OpenAI's bodies at Azure's paths.

- ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (dated API;
  a missing ``api-version`` is 404 "Resource not found", an unknown one 400)
- ``POST /openai/v1/chat/completions`` (the deployment named in ``model``)

``api-key`` header (the key) or ``Authorization: Bearer`` (the key, or one of the Microsoft
Entra ID tokens in ``ad_tokens``: a static token, or those a managed-identity endpoint issued,
``tests/fakes/azure_identity.py``); unknown deployments are 404
``DeploymentNotFound``; ``prompt_filter_results`` and per-choice ``content_filter_results``;
streams open with a ``choices: []`` chunk (empty ``id``) and may end with an annotation chunk;
``Reply(status=400, error_type="content_filter")`` is a filtered prompt with ``innererror``;
``Reply(finish="content_filter")`` a filtered answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.base import Exchange
from tests.fakes.openai import FakeOpenAI
from tests.fakes.wire import Problem, Reply, SseEvent, bearer_token, compact

VERSIONS = frozenset({"2024-02-01", "2024-06-01", "2024-10-21", "2024-12-01-preview", "2025-01-01-preview",
                      "2025-04-01-preview", "preview"})
MODEL = "gpt-4o-2024-11-20"
BAD_KEY = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
           "valid key for an active subscription and use a correct regional API endpoint for your resource.")
SAFE = {"filtered": False, "severity": "safe"}
PROMPT_FILTER = {"hate": SAFE, "jailbreak": {"detected": False, "filtered": False}, "self_harm": SAFE,
                 "sexual": SAFE, "violence": SAFE}
OUTPUT_FILTER = {"hate": SAFE, "protected_material_code": {"detected": False, "filtered": False},
                 "protected_material_text": {"detected": False, "filtered": False}, "self_harm": SAFE,
                 "sexual": SAFE, "violence": SAFE}
FILTERED_MESSAGE = ("The response was filtered due to the prompt triggering Azure OpenAI's content management "
                    "policy. Please modify your prompt and retry.")


class FakeAzure(FakeOpenAI):
    chat_path = "/openai/{tail:.+}"
    url_suffix = ""
    error_defaults = {
        400: ("BadRequest", "Invalid request."),
        401: ("401", BAD_KEY),
        403: ("403", "Forbidden"),
        404: ("DeploymentNotFound", "The API deployment for this resource does not exist. If you created the "
                                    "deployment within the last 5 minutes, please wait a moment and try again."),
        429: ("429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 "
                     "have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after "
                     "6 seconds."),
        500: ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
        503: ("ServiceUnavailable", "The service is temporarily unable to process your request."),
    }
    inband_default = error_defaults[500]

    def __init__(self, api_key: str = "test-key", deployments: tuple[str, ...] = ("gpt-4o", "my-deployment"),
                 ad_tokens: set[str] | None = None) -> None:
        super().__init__(api_key)
        self.deployments = set(deployments)
        self.queries: list[str] = []
        #: Entra ID bearer tokens accepted (besides the key); a test may add to it.
        self.ad_tokens: set[str] = set() if ad_tokens is None else ad_tokens

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        key = headers.get("api-key")
        if key is None:
            token = bearer_token(headers)
            return None if token is not None and (token == self.api_key or token in self.ad_tokens) else Problem(
                401, "401", BAD_KEY)
        return Problem(401, "401", BAD_KEY) if key != self.api_key else None

    def route(self, request: web.Request, body: Any) -> tuple[str | None, Problem | None]:
        """The deployment a chat request is for, or the problem with its URL."""
        path = request.path
        if path == "/openai/v1/chat/completions":
            model = body.get("model") if isinstance(body, dict) else None
            return (model, None) if isinstance(model, str) else (None, Problem(
                400, "BadRequest", "Missing required parameter: 'model'.", "model"))
        head, _, tail = path.removeprefix("/openai/deployments/").partition("/")
        if not path.startswith("/openai/deployments/") or tail != "chat/completions":
            return None, Problem(404, "404", "Resource not found")
        version = request.query.get("api-version")
        if version is None:
            return None, Problem(404, "404", "Resource not found")
        if version not in VERSIONS:
            return None, Problem(400, "BadRequest", "API version not supported")
        return head, None

    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        with self._lock:
            self.queries.append(ex.request.query_string)
        reply, body = ex.reply, ex.record.body
        if not await self._sleep(ex, reply.delay):
            return web.Response(status=499)
        deployment, problem = self.route(ex.request, body)
        problem = problem or self.check_headers(ex.record.headers)
        if problem is None and deployment not in self.deployments:
            problem = Problem(404, *self.error_defaults[404])
        if problem is None and isinstance(body, dict):
            body = {"model": deployment, **body}  # the dated path does not need it in the body
        problem = problem or self._check_body(body) or self._scripted_error(reply)
        if problem:
            return await self._send_problem(ex, problem)
        if body.get("stream") is True:
            return await self._stream(ex, self.stream_events(reply, reply.model or MODEL, body))
        text = compact(self.success_body(reply, reply.model or MODEL, ex.request_id))
        return await self._send_json(ex, 200, text[: len(text) // 2] if reply.malformed else text)

    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        if error_type == "content_filter":
            inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                **PROMPT_FILTER, "violence": {"filtered": True, "severity": "high"}}}
            return {"error": {"message": FILTERED_MESSAGE if message == "Invalid request." else message,
                              "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                              "innererror": inner}}
        return {"error": {"code": error_type, "message": message}}

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {"apim-request-id": request_id, "x-ms-region": "Sweden Central", "x-ratelimit-remaining-requests": "99",
                "x-ratelimit-remaining-tokens": "99000", "azureml-model-session": "d001-20261101"}

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        body = super().success_body(reply, model, request_id)
        body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": PROMPT_FILTER}]
        body["choices"][0]["content_filter_results"] = self._output_filter(reply)
        if reply.finish == "content_filter":
            body["choices"][0]["message"]["content"] = None
        return body

    @staticmethod
    def _output_filter(reply: Reply) -> dict[str, Any]:
        if reply.finish == "content_filter":
            return {**OUTPUT_FILTER, "violence": {"filtered": True, "severity": "medium"}}
        return OUTPUT_FILTER

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        events = super().stream_events(reply, model, body)
        first = {"choices": [], "created": 0, "id": "", "model": "", "object": "",
                 "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": PROMPT_FILTER}]}
        for event in events:
            if isinstance(event.data, dict):
                for choice in event.data.get("choices") or ():
                    choice["content_filter_results"] = OUTPUT_FILTER if choice["delta"] else {}
        done = events.pop()
        if reply.finish == "content_filter":  # a blocked answer: no usage chunk
            events = [e for e in events if e.data.get("choices")]
        annotation = {"choices": [{"content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 30},
                                   "content_filter_results": self._output_filter(reply), "finish_reason": None,
                                   "index": 0}], "created": 0, "id": "", "model": "", "object": ""}
        return [SseEvent(first), *events, SseEvent(annotation), done]
