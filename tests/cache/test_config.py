"""The cache, hedge and resume keys of the config file: typed once, refused with the line."""

from __future__ import annotations

import pytest

from llm_router.config.router_config import CacheRule, HedgeRule, build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import ConfigError

FILE = """\
deployments:
  a: {provider: openai, model: m, api_key: k, base_url: "http://127.0.0.1:9/v1", cache: {ttl: 30}}
  b: {provider: openai, model: n, api_key: k, base_url: "http://127.0.0.1:9/v1"}
routes:
  smart:
    deployments: [a, b]
    cache: {ttl: 3600, nondeterministic: true, scope: team}
    hedge: {after_ms: 1500}
    resume: true
  plain: {deployments: [a, b]}
"""


def build(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return build_router_config(Settings(_env_file=None), path)


def test_the_keys_become_typed_rules(tmp_path):
    config = build(tmp_path, FILE)
    assert config.caches == {"a": CacheRule(30.0), "smart": CacheRule(3600.0, True, "team")}
    assert config.routes["smart"].hedge == HedgeRule(1.5, 1, False) and config.routes["smart"].resume
    assert config.routes["plain"].hedge is None and not config.routes["plain"].resume


@pytest.mark.parametrize(("change", "field"), [
    ("cache: {ttl: 3600, nondeterministic: true, scope: team}", "cache: {ttl: 0}"),
    ("cache: {ttl: 3600, nondeterministic: true, scope: team}", "cache: {ttl: 5, scope: world}"),
    ("hedge: {after_ms: 1500}", "hedge: {after_ms: 1500, max: 9}"),
    ("hedge: {after_ms: 1500}", "hedge: {after: 1}"),
    ("resume: true", "resume: sometimes"),
])
def test_bad_values_name_the_line_and_field(tmp_path, change, field):
    with pytest.raises(ConfigError) as caught:
        build(tmp_path, FILE.replace(change, field))
    message = str(caught.value)
    assert "routes.smart." + field.split(":")[0] in message
    assert f":{FILE.replace(change, field).splitlines().index('    ' + field) + 1}:" in message
