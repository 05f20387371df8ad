"""Placeholders are not keys: ``cp .env.example .env`` changes nothing until a key is
filled in, and a value copied from a template (``<...>``, ``your-key-here``, empty) counts
as unset, with a warning naming the variable."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from llm_router.config.placeholders import is_placeholder
from llm_router.config.settings import Settings
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient

ROOT = Path(__file__).parent.parent
OLD_EXAMPLE = """OPENAI_API_KEY='<your_openai_api_key>'
ANTHROPIC_API_KEY="your-anthropic-key-here"
COHERE_API_KEY=
LLM_ROUTER_API_KEY=change-me
OLLAMA_API_KEY=sk-...
"""


@pytest.mark.parametrize("value", [
    "", "  ", "<your_openai_api_key>", "'<key>'", "your-key-here", "YOUR_API_KEY", "your openai key",
    "change-me", "changeme", "sk-...", "xxxxxxxx", "sk-xxxx", "${OPENAI_API_KEY}", "insert-your-key-here",
])
def test_obvious_placeholders(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("value", [
    "sk-canary-openai-7Hq2Zx9PLm4Rt8Vw", "sk-ant-api03-AbC", "co-secret-3", "gateway-key-1", "unused", "a",
])
def test_real_looking_values_are_keys(value):
    assert not is_placeholder(value)


def test_placeholders_in_a_dotenv_are_unset_with_a_warning_naming_each(tmp_path, caplog, monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY", "LLM_ROUTER_API_KEY",
                 "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(OLD_EXAMPLE)
    with caplog.at_level(logging.WARNING, logger="llm_router.config"):
        settings = Settings(_env_file=dotenv)  # type: ignore[call-arg]
    assert settings.llm_router_api_key is None
    assert all(settings.provider(name).api_key is None
               for name in ("openai", "anthropic", "cohere", "ollama"))
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY", "LLM_ROUTER_API_KEY",
                 "OLLAMA_API_KEY"):
        assert name in warned
    assert "<your_openai_api_key>" not in warned  # the value itself is not logged
    factory = ChatModelFactory(settings.provider_deployments(), UpstreamClient())
    assert not {"openai", "anthropic", "cohere"} & set(factory.available())


def test_placeholders_in_the_environment_are_unset_too(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "<your_openai_api_key>")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-real-1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.provider("openai").api_key is None
    key = settings.provider("anthropic").api_key
    assert key is not None and key.get_secret_value() == "sk-ant-real-1"


def test_copying_the_example_env_file_configures_nothing(tmp_path, monkeypatch):
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.lstrip("# ").partition("=")[0]
        if name.isupper():
            monkeypatch.delenv(name, raising=False)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    settings = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert settings == Settings(_env_file=None)  # type: ignore[call-arg]
    text = (ROOT / ".env.example").read_text()
    assert all(line.startswith("#") or not line.strip() for line in text.splitlines()), \
        "every setting in .env.example is commented out"
