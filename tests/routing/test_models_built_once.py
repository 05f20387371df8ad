"""A deployment's ChatModel is built once and reused by every request and attempt: a real
router run (config file, fallback route, retries, an ad-hoc ``provider/model`` name, streams)
against the fake upstreams."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, Message
from llm_router.providers.base import ChatModel
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.router import Router
from tests.conftest import CANARY
from tests.fakes import Reply

CONFIG = """\
deployments:
  anthropic-main: {provider: anthropic, model: claude-sonnet-4-5}
  openai-main: {provider: openai, model: gpt-4.1}
routes:
  smart: {strategy: fallback, deployments: [anthropic-main, openai-main]}
settings:
  retries: 1
  backoff: {base: 0.001, max: 0.002}
"""


def settings_for(fakes: dict[str, Any]) -> Settings:
    values = {f"{name}_{field}": value for name, server in fakes.items()
              for field, value in (("api_key", CANARY[name]), ("base_url", server.base_url))}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def test_each_deployment_model_is_built_once_across_requests(fakes, tmp_path: Path):
    path = tmp_path / "router.yaml"
    path.write_text(CONFIG)
    config = build_router_config(settings_for(fakes), path)
    http = UpstreamClient()
    await http.start()
    factory = ChatModelFactory(config.deployments, http)
    await factory.start()  # as the app does: builds every usable deployment's model
    router = Router(config, factory)
    seen: dict[str, set[int]] = defaultdict(set)

    async def whole(model: ChatModel, request: ChatRequest) -> ChatResponse:
        seen[model.deployment.name].add(id(model))
        return await model.send_message(request)

    async def streamed(model: ChatModel, request: ChatRequest) -> list[ChatChunk]:
        seen[model.deployment.name].add(id(model))
        return [chunk async for chunk in model.stream_message(request)]

    # anthropic-main fails now and then: a retry on it, then a fallback to openai-main.
    fakes["anthropic"].enqueue(Reply(status=500), Reply(), Reply(status=500), Reply(status=503))
    request = ChatRequest(model="", messages=(Message("user", "hi"),))
    try:
        for i in range(12):
            _, outcome = await router.run("smart", request, whole if i % 2 else streamed)
            assert outcome.route == "smart"
        for name in ("openai/gpt-4.1-nano", "cohere", "openai-main"):
            for i in range(4):
                await router.run(name, request, whole if i % 2 else streamed)
    finally:
        factory.close()
        await http.close()

    assert set(seen) == {"anthropic-main", "openai-main", "openai/gpt-4.1-nano", "cohere"}
    assert {name: len(ids) for name, ids in seen.items()} == dict.fromkeys(seen, 1)
    assert len(fakes["anthropic"].requests) >= 13  # retried and fallen over, on one model object
    assert factory.create("openai-main") is factory.for_deployment(config.deployments["openai-main"])
