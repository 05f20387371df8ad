"""``JSONAnswer`` and ``openai_compat._raw_headers`` send what Starlette's ``Response`` with the
``_headers`` dict sent: the same status, body and raw headers in the same order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import Response

from llm_router.api.openai_compat import _headers, _raw_headers
from llm_router.api.surfaces import JSONAnswer, raw_headers
from llm_router.config.deployment import Deployment, DeploymentOptions
from llm_router.messages import ChatRequest, Message
from llm_router.routing.router import Outcome

latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=12)
names = st.text("abcdefghijklmnopqrstuvwxyzABC-_", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), headers=st.dictionaries(names, latin1, max_size=4))
def test_json_answer_equals_starlettes_response(body: bytes, headers: dict[str, str]) -> None:
    ours, theirs = JSONAnswer(body, raw_headers(headers)), Response(body, media_type="application/json",
                                                                    headers=headers)
    assert (ours.status_code, ours.body, ours.raw_headers) == (theirs.status_code, theirs.body,
                                                               theirs.raw_headers)
    assert ours.headers == theirs.headers and ours.background is None


@settings(max_examples=200, deadline=None)
@given(name=latin1.filter(bool), provider=st.sampled_from(["openai", "anthropic", "cohere", "gemini", "azure"]),
       attempts=st.integers(1, 9), drop=st.booleans(),
       extra=st.dictionaries(st.sampled_from(["store", "logprobs", "n", "seed", "metadata", "verbosity",
                                              "service_tier"]), st.one_of(st.booleans(), st.integers(0, 2)),
                             max_size=3))
def test_raw_headers_equal_the_dict_ones(name: str, provider: str, attempts: int, drop: bool,
                                         extra: dict[str, object]) -> None:
    deployment = Deployment(name, provider, "some-model", "http://x", options=DeploymentOptions(drop_params=drop))
    outcome = Outcome(deployment, "route", attempts)
    request = ChatRequest("", (Message("user", "hi"),), extra=extra)
    assert _raw_headers(outcome, request) == raw_headers(_headers(outcome, request))
