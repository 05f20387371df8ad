"""llama.cpp's own OpenAI-compatible server as a real upstream, with the bundled SmolLM2 GGUF:
the client's output cap is honoured streamed and not, on the ``llamacpp/`` route and on an
``openai-compatible`` config deployment, whichever of the two fields the client sends.

The server is llama-server as built into the ``xllamacpp`` wheel (the ``local`` extra), run by
``scripts/llama_server.py`` in a subprocess: ``llama-cpp-python[server]`` has no wheel and its
source build takes longer than 15 minutes on this machine. Skipped, like the local-model tests,
when the extra or the bundled model is not installed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm_router.providers.local.model_file import bundled_model
from tests.conftest import TEST_TIMEOUTS
from tests.gateway_process import GatewayProcess, free_port, run_gateway

pytestmark = pytest.mark.clients
SCRIPTS = Path(__file__).resolve().parent / "scripts"
CAP = 5
PROMPT = [{"role": "user", "content": "Count from 1 to 100, one number per line."}]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = bundled_model()
    if model is None or importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("the local extra (xllamacpp) and the bundled SmolLM2 GGUF are not installed "
                    "(requirements-local.lock)")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    server = subprocess.Popen([sys.executable, str(SCRIPTS / "llama_server.py"), str(model), str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(url, server, log.name)
        yield url
    finally:
        server.terminate()
        server.wait(20)
        log.close()


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"llama server exited {server.returncode}: {open(log).read()[-3000:]}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"llama server did not come up in 120 s: {open(log).read()[-3000:]}")


@pytest.fixture(scope="module")
def router(llama_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = tmp_path_factory.mktemp("cfg") / "router.yaml"
    config.write_text(f"deployments:\n  compat:\n    provider: openai-compatible\n    model: smollm2\n"
                      f"    base_url: {llama_server}\n")
    env = {**TEST_TIMEOUTS, "LLM_ROUTER_FIRST_BYTE_TIMEOUT": "60", "LLAMACPP_BASE_URL": llama_server}
    with run_gateway(env, ("--config", str(config))) as gateway:
        yield gateway


def whole(router: GatewayProcess, body: dict[str, Any]) -> tuple[str, int]:
    response = httpx.post(router.url + "/v1/chat/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    answer = response.json()
    return answer["choices"][0]["finish_reason"], answer["usage"]["completion_tokens"]


def streamed(router: GatewayProcess, body: dict[str, Any]) -> tuple[str, int]:
    finish, pieces = "", 0
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", router.url + "/v1/chat/completions", json=body, timeout=120) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            frame = json.loads(line[6:])
            for choice in frame["choices"]:
                pieces += bool(choice["delta"].get("content"))
                finish = choice.get("finish_reason") or finish
    return finish, pieces


@pytest.mark.parametrize("model", ["llamacpp/smollm2", "compat"])
@pytest.mark.parametrize("field", ["max_completion_tokens", "max_tokens"])
def test_llama_cpp_server_honours_the_cap(router: GatewayProcess, model: str, field: str) -> None:
    body = {"model": model, "messages": PROMPT, field: CAP, "temperature": 0}
    finish, tokens = whole(router, body)
    assert finish == "length" and tokens <= CAP
    finish, pieces = streamed(router, body)
    assert finish == "length" and pieces <= CAP
