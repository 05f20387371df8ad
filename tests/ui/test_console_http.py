"""The console's session over plain HTTP: CSRF on every state change, cookie flags (Secure
over HTTPS), security headers, turning the pages off or moving them, the viewer key's rules,
the new admin routes in the OpenAPI document, CSV cells a spreadsheet would run."""

from __future__ import annotations

import httpx
import pytest

from llm_router.api.admin_console import _cell
from llm_router.api.app import create_app
from llm_router.api.openapi import build_openapi
from llm_router.api.surfaces import routes
from llm_router.config.settings import Settings
from llm_router.errors import ConfigError
from tests.conftest import provider_env
from tests.gateway_process import environment, run_gateway
from tests.ui.conftest import ADMIN_KEY, VIEWER_KEY, Console


def logged_in(base: str, key: str = ADMIN_KEY, **headers: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, timeout=10, headers=headers)
    token = client.get("/ui/session").json()["login_csrf"]
    return client, client.post("/ui/login", json={"key": key}, headers={"x-csrf-token": token})


def test_login_needs_its_csrf_token_and_the_right_key(console: Console):
    with httpx.Client(base_url=console.gateway.url) as client:
        first = client.get("/ui/session")
        assert first.json()["authenticated"] is False
        assert "httponly" in first.headers["set-cookie"].lower()
        no_token = client.post("/ui/login", json={"key": ADMIN_KEY})
        assert no_token.status_code == 403 and "llm_router_session" not in no_token.headers.get("set-cookie", "")
        token = first.json()["login_csrf"]
        wrong = client.post("/ui/login", json={"key": "x" * 40}, headers={"x-csrf-token": token})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
        assert client.post("/ui/login", json={"key": ADMIN_KEY}, headers={"x-csrf-token": "forged"}).status_code == 403


def test_every_state_change_needs_the_sessions_csrf_token(console: Console):
    client, login = logged_in(console.gateway.url)
    try:
        assert login.status_code == 200 and login.json()["role"] == "admin"
        csrf = login.json()["csrf"]
        assert client.get("/admin/keys").status_code == 200  # reads need no token
        for headers in ({}, {"x-csrf-token": "forged"}, {"x-csrf-token": csrf[:-2]}):
            refused = client.post("/admin/keys", json={"name": "csrf"}, headers=headers)
            assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
        made = client.post("/admin/keys", json={"name": "csrf"}, headers={"x-csrf-token": csrf})
        assert made.status_code == 201
        assert client.patch(f"/admin/keys/{made.json()['id']}", json={"name": "c2"}).status_code == 403
        assert client.delete(f"/admin/keys/{made.json()['id']}").status_code == 403
        assert client.post("/ui/logout").status_code == 403
        assert client.post("/ui/logout", headers={"x-csrf-token": csrf}).status_code == 200
        gone = client.get("/admin/keys")  # the cookie jar dropped it; replaying it is refused too
        assert gone.status_code == 401
        replay = httpx.get(console.gateway.url + "/admin/keys", cookies={"llm_router_session": login.cookies["llm_router_session"]})
        assert replay.status_code == 401 and "log in again" in replay.json()["error"]["message"]
    finally:
        client.close()


def test_the_session_cookie_flags(console: Console):
    client, plain = logged_in(console.gateway.url)
    client.close()
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    https = {"x-forwarded-proto": "https"}  # behind a TLS proxy: a client would send Secure cookies back
    first = httpx.get(console.gateway.url + "/ui/session", headers=https)
    assert "Secure" in first.headers["set-cookie"]
    login = httpx.post(console.gateway.url + "/ui/login", json={"key": ADMIN_KEY},
                       headers={**https, "x-csrf-token": first.json()["login_csrf"],
                                "cookie": f"llm_router_login={first.cookies['llm_router_login']}"})
    assert login.status_code == 200
    assert "Secure" in login.headers["set-cookie"] and "HttpOnly" in login.headers["set-cookie"]
    assert ADMIN_KEY not in cookie


def test_pages_carry_security_headers(console: Console):
    page = httpx.get(console.gateway.url + "/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    assert httpx.get(console.gateway.url + "/ui", follow_redirects=False).headers["location"] == "/ui/"
    assert httpx.get(console.gateway.url + "/ui/assets/../../etc/passwd").status_code == 404
    assert httpx.get(console.gateway.url + "/ui/assets/nope.js").status_code == 404


def test_the_viewer_bearer_reads_every_console_route(console: Console):
    bearer = {"authorization": f"Bearer {VIEWER_KEY}"}
    for path in ("/admin/usage/series?window=3600", "/admin/usage/top?by=model", "/admin/spend?scope=team",
                 "/admin/health", "/admin/requests/export.csv", "/admin/audit"):
        assert httpx.get(console.gateway.url + path, headers=bearer).status_code == 200, path
    assert httpx.post(console.gateway.url + "/admin/teams", headers=bearer, json={"name": "t"}).status_code == 403
    assert httpx.get(console.gateway.url + "/admin/keys", headers={"authorization": "Bearer " + "v" * 50}).status_code == 401


def test_bad_console_queries_are_4xx(console: Console):
    with console.admin() as admin:
        assert admin.get("/admin/usage/series?window=2592000&bucket=60").status_code == 400
        assert admin.get("/admin/usage/series?window=10").status_code == 400
        assert admin.get("/admin/requests/999999999").status_code == 404
        assert admin.get("/admin/requests?since=yesterday").status_code == 400
        assert admin.get("/admin/requests?since=2026-01-01T00:00:00").status_code == 400  # no zone
        assert admin.get("/admin/requests/export.csv?outcome=maybe").status_code == 400


def _env(fakes, tmp_path, **extra: str) -> dict[str, str]:
    return {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY,
            "LLM_ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}", **extra}


def test_the_pages_can_be_turned_off_or_moved(fakes, tmp_path):
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    with run_gateway(_env(fakes, tmp_path, LLM_ROUTER_UI="false")) as gateway:
        assert httpx.get(gateway.url + "/ui/").status_code == 404
        assert httpx.get(gateway.url + "/admin/usage/series", headers=admin).status_code == 200
    with run_gateway(_env(fakes, tmp_path, LLM_ROUTER_UI_PATH="/console")) as gateway:
        assert httpx.get(gateway.url + "/ui/").status_code == 404
        assert httpx.get(gateway.url + "/console/").status_code == 200
        assert httpx.get(gateway.url + "/console/session").json()["authenticated"] is False


@pytest.mark.parametrize("extra", [{"LLM_ROUTER_VIEWER_KEY": "short"}, {"LLM_ROUTER_VIEWER_KEY": ADMIN_KEY},
                                   {"LLM_ROUTER_UI_PATH": "/admin"}, {"LLM_ROUTER_UI_PATH": "ui"}])
def test_bad_console_settings_refuse_to_start(fakes, tmp_path, extra):
    with environment(_env(fakes, tmp_path, **extra)), pytest.raises((ConfigError, ValueError)):
        create_app(Settings(_env_file=None), configure_logging=False)  # type: ignore[call-arg]


def test_the_console_routes_are_documented(fakes, tmp_path):
    with environment(_env(fakes, tmp_path)):
        app = create_app(Settings(_env_file=None), configure_logging=False)  # type: ignore[call-arg]
    paths = build_openapi(app, routes())["paths"]
    for path in ("/admin/usage/series", "/admin/usage/top", "/admin/spend", "/admin/health",
                 "/admin/requests/export.csv", "/admin/requests/{row_id}"):
        assert "get" in paths[path], path
    assert "text/csv" in paths["/admin/requests/export.csv"]["get"]["responses"]["200"]["content"]
    assert not any(p.startswith("/ui") for p in paths)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted():
    assert [_cell(v) for v in ("=1+1", "+x", "-2", "@sum", "gpt-4", 5, None)] == \
        ["'=1+1", "'+x", "'-2", "'@sum", "gpt-4", 5, None]


def test_request_log_filters_and_totals_agree(console: Console, fakes):
    """The console's numbers are the admin API's: spend bars equal each key's spend_usd, the
    series' totals equal /admin/usage, and the new request-log filters narrow as they say."""
    import openai

    from tests.fakes import Reply

    with console.admin() as admin:
        key = admin.post("/admin/keys", json={"name": "filters", "budget": {"max_usd": 1, "period": "day"}}).json()
        fakes["openai"].enqueue(Reply(input_tokens=10_000, output_tokens=1_000), Reply(status=400))
        client = openai.OpenAI(base_url=console.gateway.url + "/v1", api_key=key["key"], max_retries=0)
        client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "a"}])
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "b"}])
        mine = {"key_id": key["id"]}
        assert [r["status"] for r in admin.get("/admin/requests", params=mine).json()["data"]] == [400, 200]
        assert [r["status"] for r in admin.get("/admin/requests", params={**mine, "outcome": "error"}).json()["data"]] == [400]
        assert len(admin.get("/admin/requests", params={**mine, "provider": "openai"}).json()["data"]) == 1  # the 400 has none
        assert admin.get("/admin/requests", params={**mine, "provider": "cohere"}).json()["data"] == []
        first = admin.get("/admin/requests", params=mine).json()["data"][-1]
        assert [r["id"] for r in admin.get("/admin/requests", params={"request_id": first["request_id"]}).json()["data"]] == [first["id"]]
        later = {**mine, "since": "2999-01-01T00:00:00Z"}
        assert admin.get("/admin/requests", params=later).json()["data"] == []
        assert len(admin.get("/admin/requests", params={**mine, "until": "2999-01-01T00:00:00+02:00"}).json()["data"]) == 2
        bar = next(s for s in admin.get("/admin/spend").json()["data"] if s["id"] == key["id"])
        assert bar["spend_usd"] == admin.get(f"/admin/keys/{key['id']}").json()["spend_usd"] > 0
        assert bar["max_usd"] == 1 and bar["period"] == "day"
        usage = admin.get("/admin/usage", params={"window": 3600, "group_by": "key"}).json()["data"]
        series = admin.get("/admin/usage/series", params={"window": 7200, "bucket": 3600}).json()["totals"]
        assert series["requests"] == sum(g["requests"] for g in usage)
        assert series["cost_micros"] == sum(g["cost_micros"] for g in usage)
        detail = admin.get(f"/admin/requests/{first['id']}").json()
        assert detail["request_id"] == first["request_id"] and detail["content"] is None
