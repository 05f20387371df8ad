"""The console in a real browser (Debian's chromium through Playwright) against a real router
with the fakes upstream: log in, keys end to end with the openai SDK, the request log, CSV
export, revocation, the Playground, the read-only viewer, an XSS probe, screenshots."""

from __future__ import annotations

import csv
import re
import time

import httpx
import openai
import pytest
from playwright.sync_api import Page, expect

from tests.fakes import Reply
from tests.ui.conftest import ADMIN_KEY, VIEWER_KEY, Console, go, login, shot

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_MODEL = "<script>alert(2)</script>"


def sdk(console: Console, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=console.gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


def ask(console: Console, key: str, model: str = "smart") -> str | None:
    answer = sdk(console, key).chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    return answer.choices[0].message.content


def key_id(console: Console, name: str) -> str:
    with console.admin() as admin:
        return next(k["id"] for k in admin.get("/admin/keys").json()["data"] if k["name"] == name)


def test_wrong_key_is_refused_and_the_admin_key_logs_in(page: Page, console: Console):
    page.goto(console.url)
    page.get_by_label("Admin or viewer key").fill("not-the-key-" + "x" * 30)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong key.")
    expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()
    login(page, console)
    expect(page.get_by_text("No requests in this window yet")).to_be_visible()  # the empty state
    expect(page.get_by_text("curl " + console.gateway.url + "/v1/chat/completions")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_have_text("Times are shown in America/New_York.")
    cookie = next(c for c in page.context.cookies() if c["name"] == "llm_router_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]  # plain http here
    assert ADMIN_KEY not in cookie["value"] and ADMIN_KEY not in page.content() and ADMIN_KEY not in page.url


def test_a_key_from_creation_to_revocation(page: Page, console: Console, fakes):
    login(page, console)
    go(page, console, "#/keys", "Keys")
    expect(page.get_by_text("No keys yet")).to_be_visible()
    page.get_by_role("button", name="Create key").click()
    form = page.get_by_role("dialog", name="New key")
    form.get_by_label("Name").fill("alice")
    form.get_by_label("Max USD").fill("5")
    form.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("dialog", name="Key alice created")
    secret = shown.get_by_label("The new key").input_value()
    assert re.fullmatch(r"sk-lr-[A-Za-z0-9_-]{43,}", secret)
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_role("button", name="Copied")).to_be_visible()
    shown.get_by_role("button", name="I have saved it").click()
    expect(shown).to_have_count(0)
    expect(page.get_by_role("cell", name="alice")).to_be_visible()
    assert secret not in page.content()  # shown once: gone from the page
    page.reload()
    expect(page.get_by_role("cell", name="alice")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("row").filter(has_text="alice").get_by_role("button", name="Edit").click()
    edit = page.get_by_role("dialog", name="Edit alice")
    expect(edit.get_by_label("Max USD")).to_have_value("5")
    edit.get_by_label("Requests / minute").fill("100")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row").filter(has_text="alice")).to_contain_text("100 rpm")

    with console.admin() as admin:  # a second key, so the filter has something to leave out
        bob = admin.post("/admin/keys", json={"name": "bob"}).json()
    fakes["openai"].enqueue(*(Reply(input_tokens=100_000, output_tokens=50_000) for _ in range(2)), Reply())
    assert ask(console, secret) == "Hello from the fake upstream."
    assert ask(console, secret) == "Hello from the fake upstream."
    ask(console, bob["key"])
    alice = key_id(console, "alice")

    go(page, console, "#/requests", "Requests")
    expect(page.get_by_role("row").filter(has_text="alice")).to_have_count(2)
    expect(page.get_by_role("row").filter(has_text="bob")).to_have_count(1)
    page.get_by_label("Key", exact=True).select_option(alice)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("row").filter(has_text="bob")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="alice")).to_have_count(2)
    assert f"key_id={alice}" in page.url
    page.get_by_role("row").filter(has_text="alice").first.click()
    details = page.get_by_role("dialog", name="Request details")
    expect(details.get_by_text("openai-main")).to_be_visible()
    expect(details.get_by_text("100,000 / 50,000 / 0")).to_be_visible()
    details.get_by_role("button", name="Close").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["key_id"], r["deployment"], r["status"], r["input_tokens"]) for r in rows] == \
        [(alice, "openai-main", "200", "100000")] * 2
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(0.24)

    go(page, console, "#/overview?window=hour", "Overview")
    expect(page.locator(".card").filter(has_text="Spend")).to_contain_text("$0.24")
    expect(page.locator(".card").filter(has_text="Requests")).to_contain_text("3")
    expect(page.locator(".toplist").first.get_by_role("row").nth(1)).to_contain_text("alice")
    go(page, console, "#/overview?window=30d", "Overview")  # the rollup's answer: the same totals
    expect(page.locator(".card").filter(has_text="Spend")).to_contain_text("$0.24")
    go(page, console, "#/keys", "Keys")
    expect(page.get_by_role("row").filter(has_text="alice")).to_contain_text("$0.24 of $5.00 / month")
    expect(page.get_by_role("row").filter(has_text="alice")).to_contain_text("100 rpm")

    page.get_by_role("row").filter(has_text="alice").get_by_role("link", name="View requests").click()
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    assert f"key_id={alice}" in page.url
    go(page, console, "#/keys", "Keys")
    page.get_by_role("row").filter(has_text="alice").get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog", name="Revoke alice?").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("cell", name="alice")).to_be_hidden()
    deadline = time.monotonic() + 1.0
    with pytest.raises(openai.AuthenticationError):
        while time.monotonic() < deadline:
            ask(console, secret)
            time.sleep(0.02)
    page.get_by_role("link", name="Show revoked keys").click()
    expect(page.get_by_role("row").filter(has_text="alice")).to_contain_text("revoked")


def test_the_playground_streams_an_answer(page: Page, console: Console, fakes):
    with console.admin() as admin:
        key = admin.post("/admin/keys", json={"name": "playground", "models": ["smart"]}).json()["key"]
    fakes["openai"].enqueue(Reply(text="Streaming answer from the fake", input_tokens=20, output_tokens=6))
    login(page, console)
    go(page, console, "#/playground", "Playground")
    page.get_by_label("Virtual key (kept in this page only)").fill(key)
    page.get_by_role("button", name="Load models").click()
    model = page.get_by_label("Model")
    expect(model).to_be_enabled()
    assert model.locator("option").all_inner_texts() == ["smart"]  # only what this key may use
    page.get_by_label("System prompt").fill("Be brief.")
    page.get_by_label("Message").fill("Say something")
    expect(page.get_by_label("Stream the answer")).to_be_checked()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#pg-answer")).to_have_text("Streaming answer from the fake")
    facts = page.locator("#pg-facts")
    expect(facts).to_contain_text("openai-main")
    expect(facts).to_contain_text("20 / 6")
    expect(facts).to_contain_text("Time to first token")
    expect(facts).to_contain_text("Cost$")
    sent = fakes["openai"].requests[-1].body
    assert sent["stream"] is True and sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert key not in page.url


def test_the_viewer_sees_everything_and_changes_nothing(page: Page, console: Console):
    with console.admin() as admin:
        target = admin.post("/admin/keys", json={"name": "viewer-target"}).json()
    login(page, console, VIEWER_KEY)
    expect(page.get_by_text("viewer (read-only)")).to_be_visible()
    go(page, console, "#/keys", "Keys")
    expect(page.get_by_role("cell", name="viewer-target")).to_be_visible()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    tried = page.evaluate("""async (id) => {
        const s = await (await fetch('session')).json();
        const h = {'content-type': 'application/json', 'x-csrf-token': s.csrf};
        const made = await fetch('/admin/keys', {method: 'POST', headers: h, body: JSON.stringify({name: 'v'})});
        const revoked = await fetch('/admin/keys/' + id, {method: 'DELETE', headers: h});
        return [made.status, revoked.status, (await made.json()).error.type];
    }""", target["id"])
    assert tried == [403, 403, "permission_error"]
    bearer = {"authorization": f"Bearer {VIEWER_KEY}"}
    assert httpx.get(console.gateway.url + "/admin/keys", headers=bearer).status_code == 200
    assert httpx.post(console.gateway.url + "/admin/keys", headers=bearer, json={"name": "v"}).status_code == 403
    assert httpx.delete(console.gateway.url + f"/admin/keys/{target['id']}", headers=bearer).status_code == 403
    with console.admin() as admin:
        assert admin.get(f"/admin/keys/{target['id']}").json()["revoked_at"] is None


def test_html_in_names_renders_as_text(page: Page, console: Console):
    with console.admin() as admin:
        probe = admin.post("/admin/keys", json={"name": XSS_NAME, "models": ["smart", XSS_MODEL]}).json()
    ask(console, probe["key"])
    with pytest.raises(openai.APIStatusError):  # a model name with HTML: refused, logged, shown as text
        ask(console, probe["key"], model=XSS_MODEL)
    login(page, console)
    for hash_, heading in (("#/keys", "Keys"), ("#/requests", "Requests"), ("#/overview?window=hour", "Overview")):
        go(page, console, hash_, heading)
        expect(page.locator("table").get_by_text(XSS_NAME, exact=True).first).to_be_visible()
        assert page.locator("img[src=x]").count() == 0
    go(page, console, "#/keys", "Keys")
    expect(page.get_by_role("cell", name=f"smart, {XSS_MODEL}")).to_be_visible()
    assert page.locator("main script").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]  # no alert() ran


def test_no_secret_in_pages_urls_or_logs(console: Console):
    with httpx.Client(base_url=console.gateway.url) as client:
        index = client.get("/ui/")
        assets = re.findall(r'(?:src|href)="(assets/[^"]+)"', index.text)
        bodies = [index.text] + [client.get("/ui/" + a).text for a in assets]
    assert len(assets) >= 4
    for body in bodies:
        assert ADMIN_KEY not in body and VIEWER_KEY not in body
    log = console.gateway.log_text()
    assert ADMIN_KEY not in log and VIEWER_KEY not in log and "sk-lr-" not in log


PAGES = (("overview?window=hour", "Overview"), ("keys", "Keys"), ("teams", "Teams"), ("requests", "Requests"),
         ("models", "Models"), ("playground", "Playground"))


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_at_desktop_and_phone_width(page: Page, console: Console, width: int):
    """Screenshots into .ci/artifacts/ui/; the page fits the width (no sideways scroll of the body)."""
    page.set_viewport_size({"width": width, "height": 900})
    login(page, console)
    for hash_, heading in PAGES:
        go(page, console, "#/" + hash_, heading)
        if heading == "Playground":  # an answer on the picture
            with console.admin() as admin:
                key = admin.post("/admin/keys", json={"name": f"shot-{width}", "models": ["smart"]}).json()["key"]
            page.get_by_label("Virtual key (kept in this page only)").fill(key)
            page.get_by_role("button", name="Load models").click()
            page.get_by_label("Message").fill("Say hello")
            page.get_by_role("button", name="Send").click()
            expect(page.locator("#pg-facts")).to_contain_text("Request id")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{heading} scrolls sideways at {width}px"
        shot(page, f"{heading.lower()}-{width}")
    assert page.console_errors == []  # type: ignore[attr-defined]  # no script error, no CSP violation


def test_keyboard_alone_reaches_every_control(page: Page, console: Console):
    login(page, console)
    go(page, console, "#/teams", "Teams")
    page.reload()  # a fresh page: focus starts at the top
    expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
    # The page renders its controls after its data arrives: Tab only once they are there.
    expect(page.get_by_role("button", name="Create team")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main" and "#/teams" in page.url
    page.keyboard.press("Tab")  # the first control of the page, past the navigation
    expect(page.get_by_role("button", name="Create team")).to_be_focused()
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name="New team")
    expect(form.get_by_label("Name")).to_be_focused()
    page.keyboard.type("platform")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("cell", name="platform")).to_be_visible()
    page.get_by_role("link", name="Requests", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    page.get_by_role("row").nth(1).focus()
    page.keyboard.press("Enter")
    details = page.get_by_role("dialog", name="Request details")
    expect(details).to_be_visible()
    page.keyboard.press("Escape")
    expect(details).to_have_count(0)


def test_the_log_pages_by_cursor(page: Page, console: Console):
    with console.admin() as admin:
        pager = admin.post("/admin/keys", json={"name": "pager"}).json()
    client = sdk(console, pager["key"])
    for _ in range(55):
        client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "Hi"}])
    login(page, console)
    go(page, console, f"#/requests?key_id={pager['id']}", "Requests")
    rows = page.get_by_role("row").filter(has_text="pager")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(55)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    page.get_by_label("From").fill("2999-01-01T09:00")  # a time range, entered in the browser's zone
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No requests match")).to_be_visible()
    assert "since=2999-01-01T14%3A00%3A00.000Z" in page.url  # 09:00 in New York, sent as UTC


def test_models_shows_an_open_circuit(page: Page, console: Console, fakes):
    """Last in this module: it leaves openai-main cooling down for a few seconds."""
    with console.admin() as admin:
        key = admin.post("/admin/keys", json={"name": "circuit"}).json()["key"]
    fakes["openai"].enqueue(*(Reply(status=500) for _ in range(3)))
    for _ in range(3):  # each fails over to anthropic-main
        assert ask(console, key) == "Hello from the fake upstream."
    login(page, console)
    go(page, console, "#/models", "Models")
    expect(page.get_by_role("cell", name="smart", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="openai-main", exact=True))
    expect(row).to_contain_text("open (cooling down)")
    fallback = page.get_by_role("row").filter(has=page.get_by_role("cell", name="anthropic-main", exact=True))
    expect(fallback).to_contain_text("closed")
    expect(page.get_by_role("link", name=re.compile(r"Show \d+ more without a provider key"))).to_be_visible()
