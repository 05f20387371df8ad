"""The provider registry: every row is consistent, and settings, the factory and the
config file all follow it (a row added is a provider the environment, the file and the
factory know)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from llm_router.config.deployment import PROVIDER_OPTIONS
from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import ProviderUnavailable
from llm_router.messages import ChatRequest
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.providers.openai.chat_model import OpenAICompatibleChatModel
from llm_router.providers.registry import PROVIDERS, ProviderSpec, spec_of

ROWS = list(PROVIDERS.values())
HTTP_ROWS = [s for s in ROWS if s.from_environment and not s.in_process]


def prefix(spec: ProviderSpec) -> str:
    return spec.name.upper().replace("-", "_")


@pytest.mark.parametrize("spec", ROWS, ids=lambda s: s.name)
def test_row_is_consistent(spec: ProviderSpec):
    assert PROVIDERS[spec.name] is spec and re.fullmatch(r"[a-z][a-z0-9-]*", spec.name)
    if spec.openai_compatible:
        assert issubclass(spec.model_class, OpenAICompatibleChatModel)
    else:
        assert spec.model_class.provider == spec.name, "the class speaks for the row it is in"
    family = PROVIDERS[spec.provider]  # a deployment's provider is itself a row
    assert family.model_class is spec.model_class
    for field, suffix in (("key_variable", "API_KEY"), ("base_url_variable", "BASE_URL"),
                          ("model_variable", "MODEL")):
        variable = getattr(spec, field)
        assert variable is None or variable == f"{prefix(spec)}_{suffix}", field
    assert not spec.key_required or spec.key_variable is not None
    assert not spec.listed_only_if_base_url_set or spec.base_url_variable is not None
    if spec.in_process:
        assert spec.variables() == () and spec.default_base_url is None
    elif spec.from_environment:
        assert spec.default_base_url and spec.base_url_variable, "an environment row needs a place to reach"
    else:
        assert spec.variables() == ()
    assert {name for name, _ in spec.option_variables} <= set(PROVIDER_OPTIONS)
    request_fields = {f.name for f in dataclasses.fields(ChatRequest)}
    assert spec.capabilities.rejected_params <= request_fields
    assert spec.capabilities.passthrough_format in (None, "openai", "anthropic")


def test_no_two_rows_read_the_same_variable_and_the_table_is_frozen():
    variables = [v for s in ROWS for _, v in (*s.variables(), *s.option_variables)]
    assert len(variables) == len(set(variables))
    with pytest.raises(TypeError):
        PROVIDERS["x"] = ROWS[0]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ROWS[0].name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("spec", HTTP_ROWS, ids=lambda s: s.name)
def test_settings_build_each_row_from_its_variables(spec: ProviderSpec, monkeypatch):
    for _, variable in (*spec.variables(), *spec.option_variables):
        monkeypatch.delenv(variable, raising=False)
    default = Settings(_env_file=None).provider_deployments()[spec.name]
    assert (default.provider, default.model, default.base_url) == (
        spec.provider, spec.default_model, spec.default_base_url)
    assert default.api_key is None and spec_of(default) is spec
    assert default.options.listed is not spec.listed_only_if_base_url_set
    values = {"api_key": "k-123", "base_url": "http://127.0.0.1:9/v1", "model": "m-1"}
    for field, variable in spec.variables():
        monkeypatch.setenv(variable, values[field])
    for field, variable in spec.option_variables:
        monkeypatch.setenv(variable, f"{field}-1")
    deployment = Settings(_env_file=None).provider_deployments()[spec.name]
    assert deployment.key() == "k-123" and deployment.base_url == values["base_url"]
    assert deployment.model == (values["model"] if spec.model_variable else spec.default_model)
    assert deployment.options.listed
    for field, _ in spec.option_variables:
        assert getattr(deployment.options, field) == f"{field}-1"


@pytest.mark.parametrize("spec", HTTP_ROWS, ids=lambda s: s.name)
def test_the_factory_needs_a_key_exactly_where_the_row_says(spec: ProviderSpec, monkeypatch):
    if spec.key_variable:
        monkeypatch.delenv(spec.key_variable, raising=False)
    factory = ChatModelFactory(Settings(_env_file=None).provider_deployments(), UpstreamClient())
    if spec.key_required:
        with pytest.raises(ProviderUnavailable, match=f"set {spec.key_variable}"):
            factory.resolve(spec.name)
    else:
        assert factory.resolve(spec.name).name == spec.name
        assert isinstance(factory.create(spec.name), spec.model_class)


@pytest.mark.parametrize("spec", [s for s in ROWS if not s.in_process], ids=lambda s: s.name)
def test_the_config_file_takes_every_row_as_provider(spec: ProviderSpec, tmp_path: Path):
    path = tmp_path / "router.yaml"
    path.write_text("deployments:\n  mine:\n    provider: " + spec.name +
                    "\n    model: m\n    api_key: k\n    base_url: http://127.0.0.1:9/v1\n")
    deployment = build_router_config(Settings(_env_file=None), path).deployments["mine"]
    assert deployment.provider == spec.provider and spec_of(deployment) is spec
    model = ChatModelFactory({"mine": deployment}, UpstreamClient()).create("mine")
    assert type(model) is spec.model_class
