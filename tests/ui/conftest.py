"""The console's fixtures: one real gateway (in-thread, fakes upstream, a temp SQLite ledger,
admin and viewer keys) and Debian's chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.conftest import provider_env
from tests.gateway_process import GatewayProcess, run_gateway

ADMIN_KEY = "console-admin-" + "a" * 36
VIEWER_KEY = "console-viewer-" + "v" * 36
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts" / "ui"
CONFIG = """\
deployments:
  openai-main: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  anthropic-main: {provider: anthropic, model: claude-sonnet-4-5, api_key: "${ANTHROPIC_API_KEY}",
                   base_url: "${ANTHROPIC_BASE_URL}"}
routes:
  smart: {strategy: fallback, deployments: [openai-main, anthropic-main]}
"""


@dataclass
class Console:
    gateway: GatewayProcess
    url: str  # the console's page

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.gateway.url, headers={"authorization": f"Bearer {ADMIN_KEY}"},
                            timeout=10)


@pytest.fixture(scope="module")
def console(fakes, tmp_path_factory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    config = folder / "config.yaml"
    config.write_text(CONFIG)
    env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_VIEWER_KEY": VIEWER_KEY,
           "LLM_ROUTER_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}",
           "LLM_ROUTER_USAGE_FLUSH_INTERVAL": "0.1"}
    with run_gateway(env, args=("--config", str(config))) as gateway:
        yield Console(gateway, gateway.url + "/ui/")


# Module scope: Playwright's sync API runs its own event loop in this thread while it is open,
# so it must be closed before any asyncio test of a later module runs.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]  # any alert() would land here
    errors: list[str] = []  # console errors: a script error, a CSP violation, a failed request
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def login(page: Page, console: Console, key: str = ADMIN_KEY) -> None:
    page.goto(console.url)
    page.get_by_label("Admin or viewer key").fill(key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def go(page: Page, console: Console, hash_: str, heading: str) -> None:
    page.goto(console.url + hash_)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
