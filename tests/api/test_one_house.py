"""Issue 11: one routing table, one edge, one error renderer — each old symptom, tested."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from llm_router.api.surfaces import routes
from tests.api.conftest import app_client
from tests.fakes import Reply

CHAT = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}
JSON = {"content-type": "application/json"}


async def test_openapi_lists_the_data_plane_and_validates(env):
    async with app_client(env) as client:
        document = (await client.get("/openapi.json")).json()
    validate(document)
    for path in ("/chat/", "/v1/chat/completions"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert name in document["components"]["schemas"]
    completions = document["components"]["schemas"]["ChatCompletionIn"]
    assert "messages" in completions["required"] and "model" in completions["required"]
    assert {"/health", "/v1/models", "/v1/usage"} <= set(document["paths"])


async def test_openapi_is_behind_the_gateway_key(env):
    async with app_client({**env, "LLM_ROUTER_API_KEY": "gw-key-123"}) as client:
        assert (await client.get("/openapi.json")).status_code == 401
        ok = await client.get("/openapi.json", headers={"authorization": "Bearer gw-key-123"})
        assert ok.status_code == 200


async def test_no_cors_headers_unless_configured(env, fakes):
    fakes["openai"].enqueue(Reply(text="hi"))
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT, headers={"origin": "https://a.example"})
        preflight = await client.options("/v1/chat/completions", headers={
            "origin": "https://a.example", "access-control-request-method": "POST"})
    assert answer.status_code == 200
    assert not any(k.startswith("access-control-") for k in answer.headers)
    assert not any(k.startswith("access-control-") for k in preflight.headers)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/", "/v1/models", "/health"])
async def test_cors_preflight_works_on_every_route(env, path):
    async with app_client({**env, "LLM_ROUTER_CORS_ORIGINS": "https://a.example, https://b.example"}) as client:
        preflight = await client.options(path, headers={
            "origin": "https://b.example", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        other = await client.options(path, headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://b.example"
    assert "access-control-allow-origin" not in other.headers


async def test_every_route_works_under_a_root_path(env, fakes):
    fakes["openai"].enqueue(Reply(text="under a prefix"))
    async with app_client(env, root_path="/prefix") as client:
        models = await client.get("/prefix/v1/models")
        chat = await client.post("/prefix/v1/chat/completions", json=CHAT)
        health = await client.get("/prefix/health")
    assert models.status_code == 200 and health.status_code == 200
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"] == "under a prefix"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/v1/nope", 404), ("GET", "/v1/chat/completions", 405), ("PUT", "/v1/models", 405)])
async def test_starlette_refusals_have_the_openai_shape(env, method, path, status):
    async with app_client(env) as client:
        answer = await client.request(method, path)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["request_id"] == answer.headers["x-request-id"]


async def test_chat_surface_errors_have_the_chat_shape(env):
    async with app_client(env) as client:
        wrong_method = await client.get("/chat/")
        unknown = await client.post("/chat/", json={"message": "hi", "chat_model_name": "nope"})
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()["error"]) >= {"type", "message", "request_id"}
    assert "code" not in wrong_method.json()["error"]
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "chat_model_name"


async def test_body_too_large_is_one_error_however_it_is_framed(env):
    limit = 1000
    big = b'{"model": "openai", "messages": [{"role": "user", "content": "' + b"x" * 2000 + b'"}]}'

    async def chunked():
        for i in range(0, len(big), 100):
            yield big[i:i + 100]

    async with app_client({**env, "LLM_ROUTER_MAX_BODY_BYTES": str(limit)}) as client:
        declared = await client.post("/v1/chat/completions", content=big, headers=JSON)
        streamed = await client.post("/v1/chat/completions", content=chunked(), headers=JSON)
    assert declared.status_code == streamed.status_code == 413
    first, second = declared.json()["error"], streamed.json()["error"]
    assert first["type"] == second["type"] and first["code"] == second["code"] == "request_too_large"
    assert "1000 bytes" in first["message"] and "LLM_ROUTER_MAX_BODY_BYTES" in first["message"]


async def test_admin_and_gateway_keys_do_not_collide(env, fakes):
    keys = {"LLM_ROUTER_API_KEY": "gateway-key-1", "LLM_ROUTER_ADMIN_KEY": "admin-key-" + "a" * 32}
    gateway = {"authorization": "Bearer gateway-key-1"}
    admin = {"authorization": "Bearer " + keys["LLM_ROUTER_ADMIN_KEY"]}
    fakes["openai"].enqueue(Reply(text="hi"))
    async with app_client({**env, **keys}) as client:
        assert (await client.get("/v1/usage", headers=admin)).status_code == 200
        assert (await client.get("/v1/usage", headers=gateway)).status_code == 401
        assert (await client.get("/v1/usage")).status_code == 401
        assert (await client.post("/v1/chat/completions", json=CHAT, headers=gateway)).status_code == 200
        assert (await client.post("/v1/chat/completions", json=CHAT, headers=admin)).status_code == 401


async def test_usage_takes_the_gateway_key_when_no_admin_key_is_set(env):
    async with app_client({**env, "LLM_ROUTER_API_KEY": "gateway-key-1"}) as client:
        assert (await client.get("/v1/usage")).status_code == 401
        ok = await client.get("/v1/usage", headers={"authorization": "Bearer gateway-key-1"})
        assert ok.status_code == 200


# One request body per surface; a new surface must add its own here.
BODIES = {
    "/chat/": {"message": "hi", "chat_model_name": "openai"},
    "/v1/chat/completions": CHAT,
    "/v1/messages": {"model": "openai", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]},
    "/v1/messages/count_tokens": {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]},
    "/v1/responses": {"model": "openai", "input": "Hi"},
    "/v1/embeddings": {"model": "openai/text-embedding-3-small", "input": "Hi"},
}


async def test_every_surface_is_observed(env, fakes):
    bodies = BODIES
    missing = [s.path for s in routes() if s.path not in bodies]
    assert not missing, f"add an example body for the new surface(s) {missing} to BODIES"
    async with app_client(env) as client:
        for surface in routes():
            fakes["openai"].enqueue(Reply(text="hi"))
            answer = await client.post(surface.path, json=bodies[surface.path])
            assert answer.status_code == 200, (surface.path, answer.text)
        metrics = (await client.get("/metrics")).text
    counted = [line for line in metrics.splitlines() if line.startswith("llm_router_requests_total{")
               and 'status_class="2xx"' in line and line.endswith(" 1.0")]
    for surface in routes():
        assert any(f'surface="{surface.name}"' in line for line in counted), surface.name


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
async def test_a_body_not_declared_json_is_415(env, kind):
    import orjson
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", content=orjson.dumps(CHAT), headers={"content-type": kind})
        chat = await client.post("/chat/", content=b'{"message":"hi","chat_model_name":"openai"}',
                                 headers={"content-type": kind})
    assert answer.status_code == chat.status_code == 415
    assert answer.json()["error"]["code"] == "unsupported_media_type"


async def test_json_with_a_charset_is_accepted(env, fakes):
    fakes["openai"].enqueue(Reply(text="hi"))
    import orjson
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", content=orjson.dumps(CHAT),
                                   headers={"content-type": "application/json; charset=utf-8"})
    assert answer.status_code == 200


async def test_two_authorization_headers_are_401(env):
    async with app_client({**env, "LLM_ROUTER_API_KEY": "gateway-key-1"}) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT, headers=[
            ("authorization", "Bearer wrong"), ("authorization", "Bearer gateway-key-1")])
    assert answer.status_code == 401


async def test_missing_provider_key_tells_sdks_not_to_retry(env):
    env = {k: v for k, v in env.items() if not k.startswith("COHERE_API_KEY")}
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json={**CHAT, "model": "cohere"})
    assert answer.status_code == 503
    assert answer.headers["x-should-retry"] == "false"
    assert "COHERE_API_KEY" in answer.json()["error"]["message"]


def test_public_names_are_pinned():
    import llm_router

    assert sorted(llm_router.__all__) == ["ChatModel", "ChatModelFactory", "Settings", "create_app"]


def test_serve_answers_every_route_under_its_root_path(fakes):
    """``--root-path /gw``: a proxy strips /gw and forwards; uvicorn puts the prefix back into the
    ASGI path and root_path, and every route, the data plane included, still matches."""
    import httpx

    from tests.conftest import provider_env
    from tests.gateway_process import run_gateway

    fakes["openai"].enqueue(Reply(text="prefixed"))
    with run_gateway(provider_env(fakes), args=("--root-path", "/gw")) as gateway:
        chat = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=10)
        models = httpx.get(gateway.url + "/v1/models", timeout=10)
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"] == "prefixed"
    assert models.status_code == 200


async def test_openapi_opens_to_the_admin_key_and_the_gateway_key(env):
    keys = {"LLM_ROUTER_API_KEY": "gateway-key-1", "LLM_ROUTER_ADMIN_KEY": "admin-key-" + "a" * 32}
    async with app_client({**env, **keys}) as client:
        for key in keys.values():
            assert (await client.get("/openapi.json", headers={"authorization": f"Bearer {key}"})).status_code == 200
        assert (await client.get("/openapi.json", headers={"authorization": "Bearer nope"})).status_code == 401
