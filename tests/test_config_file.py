"""The config file: the issue's minimal form, the example, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "examples" / "config.yaml"
MINIMAL = """\
deployments:
  anthropic-main:
    provider: anthropic            # openai | anthropic | cohere | openai-compatible | local
    model: claude-sonnet-4-5
    api_key: ${ANTHROPIC_API_KEY}
    base_url: https://api.anthropic.com   # optional
    weight: 1                      # optional
  openai-main:
    provider: openai
    model: gpt-4.1
    api_key: ${OPENAI_API_KEY}
routes:
  smart:
    strategy: fallback             # fallback | weighted | least-latency | least-busy
    deployments: [anthropic-main, openai-main]
settings:                          # optional, each key optional
  retries: 2                       # per deployment, retryable failures only
  timeouts: {total: 60, first_byte: 20, stream_idle: 30}   # seconds
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_minimal_form_works_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    config = build_router_config(Settings(_env_file=None), write(tmp_path, MINIMAL))
    assert config.routes["smart"].deployments == ("anthropic-main", "openai-main")
    main = config.deployments["anthropic-main"]
    assert main.api_key is not None and main.api_key.get_secret_value() == "sk-ant-x"
    assert main.timeouts.total == 60 and main.timeouts.first_byte == 20 and main.timeouts.stream_idle == 30
    assert config.policy.retries == 2
    assert config.deployments["openai-main"].base_url == "https://api.openai.com/v1"


def test_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with pytest.raises(ConfigError) as raised:
        build_router_config(Settings(_env_file=None), write(tmp_path, MINIMAL))
    assert "ANTHROPIC_API_KEY" in raised.value.message
    assert ":5:" in raised.value.message


@pytest.mark.parametrize("broken, expected", [
    (MINIMAL.replace("provider: openai\n", "provider: nonesuch\n"), ":9: deployments.openai-main.provider"),
    (MINIMAL.replace("strategy: fallback", "strategy: random"), ":14: routes.smart.strategy"),
    (MINIMAL.replace("[anthropic-main, openai-main]", "[anthropic-main, nope]"), "unknown deployment 'nope'"),
    (MINIMAL.replace("retries: 2", "retries: many"), ":17: settings.retries"),
    (MINIMAL.replace("    weight: 1 ", "    wieght: 1 "), "deployments.anthropic-main.wieght"),
])
def test_invalid_file_names_line_and_field(tmp_path, monkeypatch, broken, expected):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a")
    monkeypatch.setenv("OPENAI_API_KEY", "b")
    with pytest.raises(ConfigError) as raised:
        build_router_config(Settings(_env_file=None), write(tmp_path, broken))
    assert expected in raised.value.message


def test_check_config_prints_routes_without_keys(tmp_path):
    env = {"PATH": "", "ANTHROPIC_API_KEY": "sk-ant-secret-1", "OPENAI_API_KEY": "sk-secret-2",
           "COHERE_API_KEY": "co-secret-3"}
    result = subprocess.run([sys.executable, "-m", "llm_router", "check-config", str(EXAMPLE)],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "smart (fallback): anthropic-main -> openai-main -> cohere-main" in result.stdout
    assert "secret" not in result.stdout


def test_invalid_file_stops_start_up(tmp_path):
    path = write(tmp_path, "deployments:\n  x:\n    provider: openai\n")
    result = subprocess.run([sys.executable, "-m", "llm_router", "serve", "--config", str(path)],
                            capture_output=True, text=True, env={"PATH": ""}, cwd=tmp_path, timeout=20)
    assert result.returncode == 2
    assert "deployments.x.model" in result.stderr
