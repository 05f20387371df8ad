"""``/v1/embeddings`` end to end: the official openai SDK against the gateway, for OpenAI
(pass-through), Cohere (``/v2/embed``, 96 per call) and an OpenAI-compatible server."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Iterator

import httpx
import numpy as np
import openai
import pytest

from tests.conftest import CANARY, provider_env
from tests.fakes import FakeOpenAI, Reply
from tests.fakes.vectors import fake_vector
from tests.gateway_process import GatewayProcess, run_gateway

MODELS = {"openai": "openai/text-embedding-3-small", "cohere": "cohere/embed-v4.0",
          "vllm": "vllm/bge-small-en"}
DIMS = {"openai": 12, "cohere": 10, "vllm": 12}
COMPAT_KEY = "sk-compat-canary-Pq4Lm8Zt"


@pytest.fixture(scope="module")
def compat() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=COMPAT_KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def embed_gateway(fakes, compat) -> Iterator[GatewayProcess]:
    env = {**provider_env(fakes), "VLLM_BASE_URL": compat.base_url, "VLLM_API_KEY": COMPAT_KEY,
           "LLM_ROUTER_RETRIES": "1"}
    with run_gateway(env) as process:
        yield process


@pytest.fixture
def servers(fakes, compat):
    compat.reset()
    return {"openai": fakes["openai"], "cohere": fakes["cohere"], "vllm": compat}


@pytest.fixture
def client(embed_gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=embed_gateway.url + "/v1", api_key="unused", max_retries=0, timeout=30)


def as_f32(vectors):
    return [np.asarray(v, dtype=np.float32).tolist() for v in vectors]


@pytest.mark.parametrize("provider", ["openai", "cohere", "vllm"])
def test_base64_default_and_float_give_the_same_vectors(client, servers, provider):
    texts = ["the cat sat", "on the mat"]
    default = client.embeddings.create(model=MODELS[provider], input=texts)  # the SDK asks for base64
    floats = client.embeddings.create(model=MODELS[provider], input=texts, encoding_format="float")
    expected = [fake_vector(t, DIMS[provider]) for t in texts]
    assert as_f32(d.embedding for d in default.data) == as_f32(expected)
    assert as_f32(d.embedding for d in floats.data) == as_f32(expected)
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 6


@pytest.mark.parametrize("provider", ["openai", "cohere", "vllm"])
def test_explicit_base64_is_little_endian_float32(client, servers, provider):
    raw = client.embeddings.with_raw_response.create(model=MODELS[provider], input="hello",
                                                     encoding_format="base64")
    encoded = raw.http_response.json()["data"][0]["embedding"]
    decoded = list(struct.unpack(f"<{DIMS[provider]}f", base64.b64decode(encoded)))
    assert decoded == fake_vector("hello", DIMS[provider])


def test_openai_passes_the_body_through(client, servers):
    client.embeddings.create(model=MODELS["openai"], input=["x"], dimensions=5, user="u-1")
    sent = servers["openai"].requests[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"model": "text-embedding-3-small", "input": ["x"], "dimensions": 5, "user": "u-1",
                         "encoding_format": "base64"}


def test_compatible_server_is_asked_for_floats(client, servers):
    result = client.embeddings.create(model=MODELS["vllm"], input="q")
    assert servers["vllm"].requests[-1].body["encoding_format"] == "float"
    assert as_f32([result.data[0].embedding]) == as_f32([fake_vector("q", 12)])


def test_cohere_input_type_default_and_override(client, servers):
    client.embeddings.create(model=MODELS["cohere"], input=["doc"])
    assert servers["cohere"].requests[-1].body["input_type"] == "search_document"
    client.embeddings.create(model=MODELS["cohere"], input=["query"], extra_body={"input_type": "search_query"})
    body = servers["cohere"].requests[-1].body
    assert body["input_type"] == "search_query" and body["texts"] == ["query"]
    assert body["embedding_types"] == ["float"]


def test_dimensions_reach_each_provider(client, servers):
    result = client.embeddings.create(model=MODELS["cohere"], input="x", dimensions=256)
    assert servers["cohere"].requests[-1].body["output_dimension"] == 256
    assert len(result.data[0].embedding) == 256
    result = client.embeddings.create(model=MODELS["openai"], input="x", dimensions=7)
    assert len(result.data[0].embedding) == 7


def test_two_thousand_inputs_over_a_96_limit_come_back_in_order(client, servers):
    texts = [f"document number {i}" for i in range(2000)]  # the most a request takes: 2,048
    result = client.embeddings.create(model=MODELS["cohere"], input=texts)
    assert [d.index for d in result.data] == list(range(2000))
    assert as_f32(d.embedding for d in result.data) == as_f32(fake_vector(t, 10) for t in texts)
    calls = [r for r in servers["cohere"].requests if r.path == "/v2/embed"]
    assert len(calls) == 21 and max(len(c.body["texts"]) for c in calls) == 96
    sent = [t for c in sorted(calls, key=lambda c: int(c.body["texts"][0].split()[-1])) for t in c.body["texts"]]
    assert sent == texts
    assert result.usage.prompt_tokens == 3 * 2000


def test_a_failed_call_is_retried(client, servers):
    servers["cohere"].enqueue(Reply(status=503))
    result = client.embeddings.create(model=MODELS["cohere"], input="again")
    assert as_f32([result.data[0].embedding]) == as_f32([fake_vector("again", 10)])
    assert len([r for r in servers["cohere"].requests if r.path == "/v2/embed"]) == 2


@pytest.mark.parametrize(("body", "param"), [
    ({"model": MODELS["openai"], "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ({"model": MODELS["openai"], "input": []}, "input"),
    ({"model": MODELS["openai"], "input": ["a", ""]}, "input[1]"),
    ({"model": MODELS["cohere"], "input": [[1, 2, 3]]}, "input"),
    ({"model": MODELS["cohere"], "input": "x", "input_type": "poetry"}, "input_type"),
    ({"model": "anthropic", "input": "x"}, "model"),
])
def test_bad_requests_are_400_naming_the_parameter(embed_gateway, servers, body, param):
    answer = httpx.post(embed_gateway.url + "/v1/embeddings", json=body, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


def test_usage_is_recorded_and_keys_stay_secret(client, servers, embed_gateway):
    import httpx

    def cohere_tokens() -> int:
        rows = httpx.get(embed_gateway.url + "/v1/usage", params={"group_by": "model"}).json()["data"]
        return sum(r["input_tokens"] for r in rows if r["model"] == "embed-v4.0")

    before = cohere_tokens()
    client.embeddings.create(model=MODELS["cohere"], input=["one two three"])
    deadline = time.monotonic() + 5  # the usage record is written once the response is over: poll
    while cohere_tokens() <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cohere_tokens() > before  # recorded, with the tokens Cohere billed
    log = embed_gateway.log_text()
    for key in (*CANARY.values(), COMPAT_KEY):
        assert key not in log


@pytest.mark.parametrize("provider", ["openai", "cohere"])
def test_langchain_openai_embeddings(embed_gateway, servers, provider):
    from langchain_openai import OpenAIEmbeddings

    embedder = OpenAIEmbeddings(model=MODELS[provider], base_url=embed_gateway.url + "/v1", api_key="unused",
                                check_embedding_ctx_length=False, max_retries=0)
    docs = embedder.embed_documents(["alpha", "beta gamma"])
    query = embedder.embed_query("alpha")
    assert as_f32(docs) == as_f32([fake_vector("alpha", DIMS[provider]), fake_vector("beta gamma", DIMS[provider])])
    assert as_f32([query]) == as_f32([docs[0]])
