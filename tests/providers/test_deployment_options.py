"""Typed deployment options reach the models that read them: ``anthropic_version`` and
``drop_params`` on the wire to the fakes, ``LocalOptions`` in the engine's options, and the
file's cooldown and retry budget in the router."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from llm_router.config.deployment import DeploymentOptions, LocalOptions
from llm_router.config.router_config import Cooldown, RetryBudgetConfig, build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import InvalidRequest
from llm_router.messages import ChatRequest, Message
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.providers.local.engine import EngineOptions
from llm_router.routing.router import Router
from tests.conftest import CANARY

CONFIG = """\
deployments:
  claude-loose: {provider: anthropic, model: claude-x, drop_params: true, anthropic_version: "2026-10-21"}
  claude-strict: {provider: anthropic, model: claude-x}
  cohere-loose: {provider: cohere, model: command-x, drop_params: true}
settings:
  cooldown: {failures: 5, base: 2, max: 10}
  retry_budget: {ratio: 0.5, minimum: 1}
"""


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def fake_settings(fakes: dict[str, Any], **values: object) -> Settings:
    for name, server in fakes.items():
        values[f"{name}_api_key"], values[f"{name}_base_url"] = CANARY[name], server.base_url
    return settings(**values)


def request(**fields: Any) -> ChatRequest:
    return ChatRequest(model="", messages=(Message("user", "hi"),), **fields)


async def test_anthropic_version_and_drop_params_reach_the_wire(fakes, tmp_path: Path):
    path = tmp_path / "router.yaml"
    path.write_text(CONFIG)
    config = build_router_config(fake_settings(fakes, anthropic_version="2023-01-01"), path)
    loose = config.deployments["claude-loose"].options
    assert loose == DeploymentOptions(drop_params=True, anthropic_version="2026-10-21")
    http = UpstreamClient()
    await http.start()
    factory = ChatModelFactory(config.deployments, http)
    try:
        await factory.create("claude-loose").send_message(request(seed=7, n=2))
        await factory.create("cohere-loose").send_message(request(n=2))
        with pytest.raises(InvalidRequest) as refused:
            await factory.create("claude-strict").send_message(request(seed=7))
        assert refused.value.param == "seed"
        await factory.create("claude-strict").send_message(request())
    finally:
        await http.close()
    sent = fakes["anthropic"].requests
    assert [r.headers["anthropic-version"] for r in sent] == ["2026-10-21", "2023-01-01"]
    assert "seed" not in sent[0].body
    assert len(fakes["cohere"].requests) == 1


def test_provider_settings_in_the_file_reach_the_options(tmp_path: Path):
    path = tmp_path / "router.yaml"
    path.write_text("deployments:\n  x:\n    provider: openai-compatible\n    model: m\n"
                    "    base_url: http://127.0.0.1:9/v1\n    api_version: '2024-10-21'\n"
                    "    region: eu-west-1\n    project: p\n    location: l\n")
    options = build_router_config(settings(), path).deployments["x"].options
    assert options == DeploymentOptions(api_version="2024-10-21", region="eu-west-1", project="p",
                                        location="l")


def test_cooldown_and_retry_budget_are_named_and_reach_the_router(tmp_path: Path):
    path = tmp_path / "router.yaml"
    path.write_text(CONFIG)
    config = build_router_config(settings(), path)
    assert config.cooldown == Cooldown(failures=5, base=2.0, max=10.0)
    assert config.retry_budget == RetryBudgetConfig(ratio=0.5, minimum=1)
    router = Router(config, ChatModelFactory(config.deployments, UpstreamClient()))
    health = router.health
    assert (health.failures_to_open, health.base_cooldown, health.max_cooldown) == (5, 2.0, 10.0)
    assert (router.budget.ratio, router.budget.minimum) == (0.5, 1)


def test_local_options_reach_the_engine_options(tmp_path: Path):
    model = tmp_path / "tiny.gguf"
    config = tmp_path / "router.yaml"
    config.write_text(f"deployments:\n  tiny: {{provider: local, model: tiny, model_path: {model}}}\n")
    values = {"local_model_path": "/elsewhere.gguf", "local_context_tokens": 512, "local_threads": 1,
              "local_max_queue": 2, "local_weight_repack": True, "local_model_preload": True}
    deployments = build_router_config(settings(**values), config).deployments
    expected = LocalOptions(model_path=None, preload=True, max_queue=2, context_tokens=512, threads=1,
                            weight_repack=True)
    assert deployments["local"].local == replace(expected, model_path="/elsewhere.gguf")
    assert deployments["tiny"].local == replace(expected, model_path=str(model))
    assert deployments["tiny"].base_url == "" and deployments["tiny"].options == DeploymentOptions()
    local = deployments["tiny"].local
    assert EngineOptions.from_local(local, str(model)) == EngineOptions(
        str(model), context_tokens=512, threads=1, max_queue=2, weight_repack=True)
