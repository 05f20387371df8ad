"""LiteLLM proxy configs load as they are: each documented set-up maps route by route, loads
through our validating loader (directly, detected by its model_list), matches an equivalent
native config, and answers the same requests; what cannot be mapped is named with its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llm_router.cli import main
from llm_router.config.file import load_config
from llm_router.config.litellm_import import env_reference, import_litellm
from llm_router.config.router_config import build_router_config
from llm_router.errors import ConfigError
from tests.api.conftest import app_client, settings_from
from tests.conftest import CANARY
from tests.fakes import Reply

FIXTURES = Path(__file__).parent / "payloads" / "litellm"
ENV = {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "COHERE_API_KEY": "co", "GEMINI_API_KEY": "g",
       "GROQ_API_KEY": "gq", "AZURE_API_BASE": "https://r.openai.azure.com", "AZURE_API_KEY": "az",
       "AZURE_API_BASE_EU": "https://eu.openai.azure.com", "AZURE_API_KEY_EU": "az-eu",
       "AZURE_API_BASE_US": "https://us.openai.azure.com", "AZURE_API_KEY_US": "az-us",
       "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}


def imported(name: str) -> dict:  # type: ignore[type-arg]
    result = import_litellm((FIXTURES / name).read_text(), name)
    assert not result.unsupported if name != "unsupported.yaml" else True, result.unsupported
    return result.config


def test_single_model() -> None:
    assert imported("single_model.yaml") == {"deployments": {"gpt-4o": {
        "provider": "openai", "model": "gpt-4o", "api_key": "${OPENAI_API_KEY}"}}}


def test_several_providers_pick_their_registry_rows() -> None:
    d = imported("several_providers.yaml")["deployments"]
    assert {name: (e["provider"], e["model"]) for name, e in d.items()} == {
        "gpt-4o": ("openai", "gpt-4o"), "claude-sonnet": ("anthropic", "claude-sonnet-4-5"),
        "command-a": ("cohere", "command-a-03-2025"), "gemini-flash": ("gemini", "gemini-2.5-flash"),
        "llama-local": ("ollama", "llama3.2"), "vllm-model": ("vllm", "facebook/opt-125m"),
        "groq-llama": ("groq", "llama-3.3-70b-versatile"), "my-compatible": ("openai-compatible", "my-model"),
        "gpt-4o-mini": ("openai", "gpt-4o-mini")}
    assert d["llama-local"]["base_url"] == "http://localhost:11434/v1"  # Ollama's OpenAI-compatible path
    assert d["my-compatible"] == {"provider": "openai-compatible", "model": "my-model",
                                  "base_url": "http://127.0.0.1:9999/v1", "api_key": "sk-1234"}
    assert d["claude-sonnet"]["api_key"] == "${ANTHROPIC_API_KEY}"


def test_load_balancing_with_weights_from_rpm_tpm() -> None:
    config = imported("load_balancing.yaml")
    assert config["routes"] == {"gpt-4o": {"strategy": "weighted", "deployments": ["gpt-4o-1", "gpt-4o-2", "gpt-4o-3"]}}
    d = config["deployments"]
    assert [d[f"gpt-4o-{i}"]["weight"] for i in (1, 2, 3)] == [600.0, 300.0, 2.0]
    assert d["gpt-4o-1"] == {"provider": "azure", "model": "gpt-4o-eu", "base_url": "${AZURE_API_BASE_EU}",
                             "api_key": "${AZURE_API_KEY_EU}", "api_version": "2024-10-21", "weight": 600.0}


def test_fallbacks_retries_and_cooldowns() -> None:
    config = imported("fallbacks_retries_cooldowns.yaml")
    routes, d, settings = config["routes"], config["deployments"], config["settings"]
    assert routes["primary"] == {"strategy": "fallback", "deployments": ["primary-1", "backup"]}
    # a weighted group's fallbacks are weight-0 copies: always tried after the group itself
    assert routes["balanced"] == {"strategy": "weighted",
                                  "deployments": ["balanced-1", "balanced-2", "backup-fallback"]}
    assert d["backup-fallback"]["weight"] == 0 and d["backup-fallback"]["model"] == "gpt-4.1-mini"
    assert routes["ordered"] == {"strategy": "fallback", "deployments": ["ordered-2", "ordered-1"]}
    assert d["primary-1"]["timeouts"] == {"first_byte": 30.0, "stream_idle": 10.0} and d["primary-1"]["retries"] == 1
    assert all(e["drop_params"] is True for e in d.values())
    assert settings == {"retries": 3, "timeouts": {"first_byte": 45.0}, "cooldown": {"failures": 2, "base": 30.0,
                        "max": 30.0}, "backoff": {"base": 1.0, "max": 8.0}}


def test_azure_and_bedrock_entries() -> None:
    result = import_litellm((FIXTURES / "azure_and_bedrock.yaml").read_text())
    d = result.config["deployments"]
    assert d["azure-gpt"] == {"provider": "azure", "model": "my-gpt4o-deployment", "base_url": "${AZURE_API_BASE}",
                              "api_key": "${AZURE_API_KEY}", "api_version": "2025-01-01-preview"}
    assert d["bedrock-claude"] == {"provider": "bedrock", "model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                                   "region": "us-west-2"}
    assert d["bedrock-nova"]["model"] == "amazon.nova-micro-v1:0" and d["bedrock-nova"]["region"] == "eu-west-3"
    # per-deployment AWS keys are not carried: botocore's chain is used, and the user is told so
    assert [(u.line, u.key) for u in result.unsupported] == [
        (17, "model_list.2.litellm_params.aws_access_key_id"),
        (18, "model_list.2.litellm_params.aws_secret_access_key")]
    assert "botocore's chain" in result.unsupported[0].reason


def test_unsupported_keys_are_named_with_their_lines() -> None:
    result = import_litellm((FIXTURES / "unsupported.yaml").read_text(), "unsupported.yaml")
    found = {u.key: u.line for u in result.unsupported}
    assert found == {
        "general_settings": 14, "environment_variables": 23,
        "model_list.0.litellm_params.organization": 6, "model_list.0.litellm_params.tags": 7,
        "model_list.0.model_info.mode": 9, "model_list.0.model_info.supports_vision": 10,
        "model_list.1.litellm_params.model": 13, "router_settings.routing_strategy": 18,
        "router_settings.redis_host": 19, "litellm_settings.success_callback": 22}
    general = next(u for u in result.unsupported if u.key == "general_settings")
    assert "LLM_ROUTER_API_KEY" in general.reason
    text = result.to_yaml()
    assert text.startswith("# not imported: line ") and "sagemaker-model" not in yaml.safe_load(text)["deployments"]


def test_values_from_the_environment() -> None:
    assert env_reference("os.environ/X_Y") == "${X_Y}" and env_reference("plain") == "plain"
    with pytest.raises(ConfigError, match="not a LiteLLM config"):
        import_litellm("deployments: {}\n")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_each_fixture_loads_directly_and_as_printed(name: str, tmp_path: Path) -> None:
    direct = load_config(FIXTURES / name, ENV)  # detected by its model_list
    printed = tmp_path / "ours.yaml"
    printed.write_text(import_litellm((FIXTURES / name).read_text()).to_yaml())
    assert load_config(printed, ENV) == direct


def test_imported_config_equals_the_native_one(tmp_path: Path) -> None:
    native = tmp_path / "native.yaml"
    native.write_text("""
deployments:
  gpt-4o-1: {provider: azure, model: gpt-4o-eu, base_url: "${AZURE_API_BASE_EU}", api_key: "${AZURE_API_KEY_EU}",
             api_version: "2024-10-21", weight: 600}
  gpt-4o-2: {provider: azure, model: gpt-4o-us, base_url: "${AZURE_API_BASE_US}", api_key: "${AZURE_API_KEY_US}",
             api_version: "2024-10-21", weight: 300}
  gpt-4o-3: {provider: openai, model: gpt-4o, api_key: "${OPENAI_API_KEY}", weight: 2}
routes:
  gpt-4o: {strategy: weighted, deployments: [gpt-4o-1, gpt-4o-2, gpt-4o-3]}
""")
    settings = settings_from(ENV)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENV.items():
            patch.setenv(key, value)
        ours = build_router_config(settings, str(native))
        theirs = build_router_config(settings, str(FIXTURES / "load_balancing.yaml"))
    assert theirs.routes == ours.routes and theirs.deployments == ours.deployments


async def test_same_requests_same_answers(fakes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    openai_fake, anthropic_fake = fakes["openai"], fakes["anthropic"]
    litellm = tmp_path / "litellm.yaml"
    litellm.write_text(f"""
model_list:
  - model_name: smart
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY,
                      api_base: "{anthropic_fake.base_url}"}}
  - model_name: cheap
    litellm_params: {{model: openai/gpt-4.1-mini, api_key: os.environ/OPENAI_API_KEY,
                      api_base: "{openai_fake.base_url}"}}
router_settings:
  fallbacks: [{{"smart": ["cheap"]}}]
""")
    native = tmp_path / "native.yaml"
    native.write_text(f"""
deployments:
  smart-1: {{provider: anthropic, model: claude-sonnet-4-5, api_key: "${{ANTHROPIC_API_KEY}}",
            base_url: "{anthropic_fake.base_url}"}}
  cheap: {{provider: openai-compatible, model: gpt-4.1-mini, api_key: "${{OPENAI_API_KEY}}",
          base_url: "{openai_fake.base_url}"}}
routes:
  smart: {{strategy: fallback, deployments: [smart-1, cheap]}}
""")
    env = {"OPENAI_API_KEY": CANARY["openai"], "ANTHROPIC_API_KEY": CANARY["anthropic"],
           "LLM_ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    answers = []
    for path in (litellm, native):
        async with app_client(env, config_path=str(path)) as client:
            anthropic_fake.enqueue(Reply(text="from claude"), Reply(status=500), Reply(status=500),
                                   Reply(status=500))
            openai_fake.enqueue(Reply(text="from the fallback"))
            body = {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}
            first = (await client.post("/v1/chat/completions", json=body)).json()
            second = (await client.post("/v1/chat/completions", json=body)).json()
            answers.append((first["choices"][0]["message"]["content"], second["choices"][0]["message"]["content"]))
            anthropic_fake.reset()
            openai_fake.reset()
    assert answers[0] == answers[1] == ("from claude", "from the fallback")


def test_cli_prints_our_config_and_names_what_it_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-litellm", str(FIXTURES / "unsupported.yaml")]) == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["deployments"]["gpt-4o"]["provider"] == "openai"
    assert "not imported: line 14: general_settings" in err
    assert main(["import-litellm", str(FIXTURES / "missing.yaml")]) == 2


def test_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "llm_router", "import-litellm", str(FIXTURES / "single_model.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "provider: openai" in done.stdout


def test_check_config_reads_a_litellm_file(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    assert main(["check-config", str(FIXTURES / "fallbacks_retries_cooldowns.yaml")]) == 0
    out = capsys.readouterr().out
    assert "primary (fallback): primary-1 -> backup" in out and "retries: 3 per deployment" in out
