"""Model access patterns, /v1/models filtering, and the admin plane's start-up checks."""

from __future__ import annotations

import pytest

from llm_router.admin_plane import AdminSettings, build_admin_plane
from llm_router.errors import ConfigError, PermissionDenied
from llm_router.policies.base import Principal
from llm_router.policies.keys import KeyPolicy, allowed_by, model_allowed, visible_models
from llm_router.storage.keysecrets import KEY_LENGTH, display_key, generate_key, looks_like_key
from tests.policies.helpers import context, key, team

ROUTES = {"smart": [("openai-main", "openai/gpt-4.1"), ("openai-backup", "openai/gpt-4.1-mini")],
          "mixed": [("openai-main", "openai/gpt-4.1"), ("anthropic-main", "anthropic/claude")]}


def targets(name: str) -> list[tuple[str, str]]:
    return ROUTES.get(name, [])


@pytest.mark.parametrize(("patterns", "name", "ok"), [
    (None, "anything", True), ([], "smart", False), (["smart"], "smart", True), (["smart"], "smarter", False),
    (["openai/*"], "openai/gpt-4.1", True), (["openai/*"], "openai/", False), (["openai/*"], "openaix/m", False),
    (["openai/*"], "smart", True), (["openai/*"], "mixed", False), (["*"], "mixed", True),
    (["openai-main", "anthropic/*"], "mixed", True), (["openai-main"], "smart", False),
])
def test_patterns(patterns, name, ok):
    assert allowed_by(patterns, name, targets(name)) is ok


def test_a_flat_target_list_is_read_strictly_never_by_characters():
    flat = ["openai-main", "openai/gpt-4.1"]
    assert not allowed_by(["o", "p", "e", "n", "a", "i", "-", "m"], "smart", flat)
    assert not allowed_by(["openai/*"], "smart", flat)  # every bare name must then be allowed
    assert allowed_by(["openai/*", "openai-main"], "smart", flat)


def test_key_and_team_lists_both_apply():
    blue = team(models=("smart", "fast"))
    alice = key(team_id=blue.id, models=("smart", "openai/*"))
    principal = context(alice, blue).principal
    assert model_allowed(principal, "smart")
    assert not model_allowed(principal, "fast")  # the key's own list refuses it
    assert not model_allowed(principal, "openai/gpt-4.1")  # the team's list refuses it
    assert visible_models(principal, ["fast", "smart", "mixed"], targets) == ["smart"]
    assert visible_models(Principal(kind="master"), ["fast", "smart"]) == ["fast", "smart"]


async def test_check_names_the_refused_model():
    policy = KeyPolicy(authenticator=None, owners=None, targets=targets)  # type: ignore[arg-type]
    ctx = context(key(models=("smart",)), model="gpt-5\r\nx")
    with pytest.raises(PermissionDenied) as refused:
        await policy.check(ctx)
    assert refused.value.param == "model" and "'gpt-5\\r\\nx'" in refused.value.message
    await policy.check(context(key(models=("smart",)), model="smart"))


def test_key_format():
    secret = generate_key()
    assert len(secret) == KEY_LENGTH == 49 and looks_like_key(secret)
    assert len({generate_key() for _ in range(100)}) == 100
    assert display_key(secret) == "sk-lr-..." + secret[-4:]
    for bad in ("", secret + "a", secret[:-1], secret[:-1] + "'", "sk-lr-" + "é" * 43, " " + secret[1:]):
        assert not looks_like_key(bad)


def _settings(**values) -> AdminSettings:
    return AdminSettings(_env_file=None, llm_router_database_url="sqlite:////tmp/unused.db", **values)


def test_plane_is_off_without_an_admin_key_and_refuses_a_short_one():
    assert build_admin_plane(_settings()) is None
    with pytest.raises(ConfigError, match="at least 32"):
        build_admin_plane(_settings(llm_router_admin_key="short"))
    with pytest.raises(ConfigError, match="differ"):
        build_admin_plane(_settings(llm_router_admin_key="a" * 32, llm_router_api_key="a" * 32))
    with pytest.raises(ConfigError, match="unsupported driver"):
        build_admin_plane(AdminSettings(_env_file=None, llm_router_admin_key="a" * 32,
                                        llm_router_database_url="mysql://x/y"))
