"""Issue 13: generated bodies for every data-plane surface, from the OpenAPI document the
service publishes (schemathesis, on Hypothesis), against the real server and the fakes:
whatever the body, the answer is never a 5xx."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from llm_router.api.app import create_app
from llm_router.api.openapi import build_openapi
from llm_router.api.surfaces import routes
from tests.api.conftest import settings_from
from tests.conftest import provider_env
from tests.gateway_process import run_gateway

_APP = create_app(settings_from({}), configure_logging=False)
SCHEMA = schemathesis.openapi.from_dict(build_openapi(_APP, routes()))
DATA_PLANE = "^(" + "|".join(s.path for s in routes()) + ")$"


@pytest.fixture(scope="module")
def fuzzed(fakes):
    with run_gateway(provider_env(fakes)) as gateway:
        yield gateway


@SCHEMA.include(path_regex=DATA_PLANE).parametrize()
@hypothesis.settings(max_examples=30, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_no_body_makes_a_5xx(case, fuzzed):
    response = case.call(base_url=fuzzed.url, timeout=10)
    assert response.status_code < 500, (case.path, case.body, response.text[:500])
