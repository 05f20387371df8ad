"""What the README promises about running the service: the seed's uvicorn command,
the console script, and the Docker files (no Docker engine here: we check the files)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import yaml

from tests.conftest import provider_env
from tests.gateway_process import free_port, run_gateway
from tests.test_chat_api import post_chat

ROOT = Path(__file__).parent.parent


def test_seed_uvicorn_command_serves_chat(fakes, tmp_path):
    port = free_port()
    env = {"PATH": "", **provider_env(fakes)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "llm_router.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/chat/", timeout=5,
                                      json={"message": "hi", "chat_model_name": "openai"})
                break
            except httpx.ConnectError:
                subprocess.run(["sleep", "0.05"])
        assert response.status_code == 200
        assert response.json()["response"] == "Hello from the fake upstream."
    finally:
        process.terminate()
        process.wait(10)


def test_env_file_is_read_and_environment_wins(fakes, tmp_path):
    env = provider_env(fakes)
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"COHERE_API_KEY='{env.pop('COHERE_API_KEY')}'\nOPENAI_MODEL=from-dotenv\n")
    env["OPENAI_MODEL"] = "from-environment"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "llm_router", "serve", "--port", str(port)],
                               cwd=tmp_path, env={"PATH": "", **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health").json()
                break
            except httpx.ConnectError:
                subprocess.run(["sleep", "0.05"])
        assert "cohere" in health["providers"], "COHERE_API_KEY came from .env"
        post = httpx.post(f"http://127.0.0.1:{port}/chat/", json={"message": "x", "chat_model_name": "openai"})
        assert post.status_code == 200
        assert fakes["openai"].requests[-1].body["model"] == "from-environment"
    finally:
        process.terminate()
        process.wait(10)


def test_service_starts_with_no_keys_at_all(tmp_path):
    with run_gateway({}) as gateway:
        assert set(httpx.get(gateway.url + "/health").json()["providers"]) <= {"local"}  # needs no key
        response = post_chat(gateway, message="hi", chat_model_name="anthropic")
    assert response.status_code == 503
    assert "ANTHROPIC_API_KEY" in response.json()["error"]["message"]


def test_compose_file_builds_and_runs_the_service_with_dotenv():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["llm-router"]
    assert service["build"]["context"] == "."
    assert (ROOT / service["build"]["dockerfile"]).is_file()
    assert ".env" in service["env_file"]
    assert "8000:8000" in service["ports"]


def test_dockerfile_uses_the_lock_file_and_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim")
    assert "requirements.lock" in dockerfile and "--require-hashes" in dockerfile
    assert "\nUSER " in dockerfile
    assert '"--host", "0.0.0.0", "--port", "8000"' in dockerfile


def test_pyproject_declares_the_console_script_and_python_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["llm-router"] == "llm_router.cli:main"
    assert project["requires-python"].startswith(">=3.11")
    locked = (ROOT / "requirements.lock").read_text()
    for dependency in project["dependencies"]:
        name = dependency.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        assert f"\n{name}==" in "\n" + locked, f"{name} is not locked"
