"""The router against real loopback upstreams (tests/fakes/), in process: a stream's life
after its first content, and the upstream fault matrix cases F12, F19, F22, F26, F27."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.config.router_config import Route, RouterConfig
from llm_router.errors import (
    AllTargetsFailed,
    Overloaded,
    ProviderError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from llm_router.gateway import Gateway
from llm_router.messages import ChatRequest, Message
from llm_router.observability.state import begin_request
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.providers.sse import MAX_EVENT_BYTES
from llm_router.routing.health import HealthBoard
from llm_router.routing.retry import RetryPolicy
from llm_router.routing.router import Router
from tests.conftest import CANARY
from tests.fakes import Reply
from tests.fakes.black_hole import BlackHole

FAST = Timeouts(connect=1.0, first_byte=3.0, stream_idle=3.0, total=10.0)


@pytest.fixture
async def http() -> AsyncIterator[UpstreamClient]:
    client = UpstreamClient()
    await client.start()
    yield client
    await client.close()


def deployment(name: str, fake: object, provider: str = "openai", timeouts: Timeouts = FAST,
               base_url: str | None = None) -> Deployment:
    url = base_url or fake.base_url  # type: ignore[attr-defined]
    key = CANARY["openai" if provider.startswith("openai") else provider]
    return Deployment(name, provider, f"model-{name}", url, SecretStr(key), timeouts)


def make_router(http: UpstreamClient, *deployments: Deployment, retries: int = 2,
                sleep: Callable[[float], object] | None = None) -> Router:
    by_name = {d.name: d for d in deployments}
    config = RouterConfig(by_name, {"smart": Route("smart", "fallback", tuple(by_name))},
                          RetryPolicy(retries=retries, backoff_base=0.01, backoff_max=0.02))
    router = Router(config, ChatModelFactory(by_name, http), **({"sleep": sleep} if sleep else {}))
    router.health = HealthBoard(1, 30.0, 300.0)  # one failure opens a circuit
    return router


def ask() -> ChatRequest:
    return ChatRequest("", (Message("user", "hi"),))


async def closed(fake: object) -> bool:
    """The fake saw the client close its last request (polled off the event loop, which
    must keep running for the close to happen)."""
    return await asyncio.to_thread(fake.wait_for_close)  # type: ignore[attr-defined,no-any-return]


async def drain(stream: object) -> str:
    text = ""
    async for chunk in stream:  # type: ignore[attr-defined]
        text += chunk.text
    return text


# ----- a stream's life after its first content (issue 11, item 9)
async def test_failure_after_content_counts_against_health_and_frees_the_slot(fakes, http) -> None:  # type: ignore[no-untyped-def]
    router = make_router(http, deployment("a", fakes["openai"]), deployment("b", fakes["openai"]))
    fakes["openai"].enqueue(Reply(text="one two three four five six", cut_after=4))
    stream = await router.stream("smart", ask())
    with pytest.raises(UpstreamProtocolError):
        await drain(stream)
    assert router.health.state("a") == "open", "the mid-stream failure reached the health board"
    assert router.stats.in_flight == {"a": 0, "b": 0} or router.stats.in_flight == {"a": 0}


async def test_total_timeout_bounds_a_streamed_body(fakes, http) -> None:  # type: ignore[no-untyped-def]
    slow = Timeouts(connect=1.0, first_byte=3.0, stream_idle=5.0, total=1.0)
    router = make_router(http, deployment("a", fakes["openai"], timeouts=slow))
    fakes["openai"].enqueue(Reply(text="one two three four five six", stall_after=3))
    started = time.monotonic()
    stream = await router.stream("smart", ask())
    with pytest.raises(UpstreamTimeout, match="total timeout"):
        await drain(stream)
    assert 0.9 <= time.monotonic() - started < 2.0, "total (1 s), not stream_idle (5 s)"
    assert router.health.state("a") == "closed", "our own deadline is not the deployment's fault"
    assert await closed(fakes["openai"])


async def test_closing_a_stream_releases_its_slot_exactly_once(fakes, http) -> None:  # type: ignore[no-untyped-def]
    router = make_router(http, deployment("a", fakes["openai"]))
    fakes["openai"].enqueue(Reply(text="one two three four five six", stall_after=4))
    stream = await router.stream("smart", ask())
    assert router.stats.in_flight["a"] == 1
    await stream.aclose()
    await stream.aclose()
    assert router.stats.in_flight["a"] == 0
    assert await closed(fakes["openai"])


# ----- F12: a connect black hole fails over at once (issue 13, item 9)
@pytest.mark.parametrize("stream", [False, True])
async def test_connect_timeout_fails_over_at_once(fakes, http, stream) -> None:  # type: ignore[no-untyped-def]
    with BlackHole() as hole:
        router = make_router(http, deployment("hole", None, base_url=hole.base_url),
                             deployment("b", fakes["openai"]))
        gateway = Gateway(router)
        started = time.monotonic()
        if stream:
            opened = await gateway.stream("smart", ask())
            outcome = opened.outcome
            assert await drain(opened) == "Hello from the fake upstream."
        else:
            _, outcome = await gateway.chat("smart", ask())
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed <= 1.3, f"one connect timeout (1 s), not three: {elapsed:.2f}s"
    assert outcome.deployment.name == "b" and outcome.attempts == 2
    assert len(fakes["openai"].requests) == 1


# ----- F19: wrongly shaped events are skipped and counted (issue 13, item 11)
WRONG = {
    "openai": ['{"choices": 5}', '{"choices": [{"delta": {"content": 5}}]}', '[1, 2]',
               '{"choices": [{"delta": {"tool_calls": "x"}}]}', '{"usage": {"prompt_tokens": "many"}}'],
    "anthropic": ['{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 5}}',
                  '{"type": "message_delta", "usage": []}', '{"type": "content_block_start", "index": "x",'
                  ' "content_block": {"type": "tool_use"}}'],
    "cohere": ['{"type": "content-delta", "delta": {"message": {"content": {"text": ["x"]}}}}',
               '{"type": "tool-call-start", "delta": {"message": {"tool_calls": 7}}}', '"just a string"'],
}
CASES = [(provider, bad, at) for provider, bads in WRONG.items() for bad in bads for at in (1, 3)]


@pytest.mark.parametrize(("provider", "bad", "at"), CASES)
async def test_wrongly_shaped_event_is_skipped_and_counted(fakes, http, provider, bad, at) -> None:  # type: ignore[no-untyped-def]
    router = make_router(http, deployment("a", fakes[provider], provider))
    fakes[provider].enqueue(Reply(text="one two three four", bad_event=bad, bad_event_at=at))
    state = begin_request(f"wrong-{provider}-{at}", "openai")
    stream = await router.stream("smart", ask())
    assert await drain(stream) == "one two three four"
    assert state.sse_parse_errors == 1


# ----- F22: one huge SSE line is cut off at the decoder's cap (issue 13, item 12)
def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def test_huge_stream_event_is_refused_at_the_cap(fakes, http) -> None:  # type: ignore[no-untyped-def]
    router = make_router(http, deployment("a", fakes["openai"]), retries=0)
    fakes["openai"].enqueue(Reply(huge_event_bytes=4 * 1024 * 1024))  # warm-up: buffers, arenas
    with pytest.raises(AllTargetsFailed):
        await router.stream("smart", ask())
    fakes["openai"].enqueue(Reply(huge_event_bytes=50 * 1024 * 1024))
    _reset_peak_rss()
    before = _peak_rss()
    started = time.monotonic()
    with pytest.raises(AllTargetsFailed) as caught:
        await router.stream("smart", ask())
    assert isinstance(caught.value.last, UpstreamProtocolError)
    assert "larger than" in caught.value.last.message
    assert time.monotonic() - started < 1.0
    assert _peak_rss() - before < 2 * MAX_EVENT_BYTES, "RSS growth below twice the cap"
    assert await closed(fakes["openai"])


# ----- F26: every deployment of a route down → fail fast (issue 13, item 14)
async def test_route_with_every_deployment_open_fails_fast_until_a_probe(fakes, http) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    router = make_router(http, deployment("a", fakes["openai"]), deployment("b", fakes["cohere"], "cohere"),
                         retries=0)
    router.health = HealthBoard(2, 5.0, 300.0, clock=lambda: now[0])
    fakes["openai"].enqueue(*[Reply(status=500)] * 2)
    fakes["cohere"].enqueue(*[Reply(status=500)] * 2)
    for _ in range(2):
        with pytest.raises(AllTargetsFailed):
            await router.run("smart", ask(), _send)
    assert router.health.state("a") == router.health.state("b") == "open", "the last one is ejected too"
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(Overloaded) as caught:
            await router.run("smart", ask(), _send)
        assert 0 < caught.value.retry_after <= 5.0
    assert time.monotonic() - started < 0.05 * 20
    assert len(fakes["openai"].requests) == len(fakes["cohere"].requests) == 2, "no upstream attempt"
    now[0] += 5.0  # cooldown over: each circuit admits one probe
    _, outcome = await router.run("smart", ask(), _send)
    assert outcome.deployment.name == "a" and router.health.state("a") == "closed"


async def test_a_deployment_alone_on_its_route_is_never_ejected(fakes, http) -> None:  # type: ignore[no-untyped-def]
    router = make_router(http, deployment("a", fakes["openai"]), retries=0)
    fakes["openai"].enqueue(Reply(status=401), Reply(status=500))
    for _ in range(2):
        with pytest.raises(AllTargetsFailed):
            await router.run("smart", ask(), _send)
    assert router.health.state("a") == "closed" and len(fakes["openai"].requests) == 2


# ----- F27: a real retry budget (issue 13, item 15)
async def test_retry_storm_is_held_to_the_budget(fakes, http) -> None:  # type: ignore[no-untyped-def]
    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    router = make_router(http, deployment("a", fakes["openai"]), retries=2, sleep=no_wait)
    router.health = HealthBoard(10**6, 5.0, 300.0)  # the budget, not the circuit, is under test
    clients = 400
    fakes["openai"].enqueue(*[Reply(status=503) if i % 2 == 0 else Reply() for i in range(3 * clients)])
    gate = asyncio.Semaphore(20)

    async def one() -> None:
        async with gate:
            try:
                await router.run("smart", ask(), _send)
            except (ProviderError, AllTargetsFailed):
                pass

    await asyncio.gather(*(one() for _ in range(clients)))
    upstream = len(fakes["openai"].requests)
    assert upstream <= 1.2 * clients + router.budget.minimum, f"{upstream} upstream for {clients} clients"


async def _send(model, request):  # type: ignore[no-untyped-def]
    return await model.send_message(request)


# ----- F17 / F24: usage the upstream did not report is estimated and flagged (issue 13, 10 and 13)
async def test_cut_stream_records_the_delivered_tokens_estimated(fakes, http) -> None:  # type: ignore[no-untyped-def]
    gateway = Gateway(make_router(http, deployment("a", fakes["anthropic"], "anthropic")))
    text = " ".join(["word"] * 40)
    fakes["anthropic"].enqueue(Reply(text=text, cut_after=30))
    state = begin_request("cut-usage", "openai")
    stream = await gateway.stream("smart", ask())
    delivered = ""
    with pytest.raises(UpstreamProtocolError):
        async for chunk in stream:
            delivered += chunk.text
    assert state.usage is not None and state.usage.estimated
    assert state.usage.output_tokens == -(-len(delivered) // 4) > 0
    assert state.usage.input_tokens > 0
    assert (state.finish_reason, state.error_type) == ("error", "upstream_protocol_error")


@pytest.mark.parametrize("stream", [False, True])
async def test_answer_without_usage_gets_an_estimate_never_zeros(fakes, http, stream) -> None:  # type: ignore[no-untyped-def]
    gateway = Gateway(make_router(http, deployment("a", fakes["openai"])))
    fakes["openai"].enqueue(Reply(text="twelve chars", no_usage=True))
    state = begin_request(f"no-usage-{stream}", "openai")
    if stream:
        chunks = [chunk async for chunk in await gateway.stream("smart", ask())]
        usage = chunks[-1].usage
    else:
        usage = (await gateway.chat("smart", ask()))[0].usage
    assert usage is not None and usage.estimated
    assert usage.output_tokens == 3 and usage.input_tokens > 0
    assert state.usage == usage


async def test_reported_usage_is_not_estimated(fakes, http) -> None:  # type: ignore[no-untyped-def]
    gateway = Gateway(make_router(http, deployment("a", fakes["openai"])))
    fakes["openai"].enqueue(Reply(input_tokens=11, output_tokens=7))
    usage = (await gateway.chat("smart", ask()))[0].usage
    assert (usage.input_tokens, usage.output_tokens, usage.estimated) == (11, 7, False)


# ----- the gateway's policy seam: ``check`` runs before routing, with model and request set
async def test_gateway_runs_the_policy_check_before_routing(fakes, http) -> None:  # type: ignore[no-untyped-def]
    from starlette.datastructures import Headers

    from llm_router.errors import PermissionDenied
    from llm_router.policies.base import BasePolicy, PolicyChain, RequestContext

    seen: list[tuple[str, ChatRequest | None]] = []

    class Record(BasePolicy):
        async def check(self, ctx: RequestContext) -> None:
            seen.append((ctx.model, ctx.request))

    class Refuse(BasePolicy):
        async def check(self, ctx: RequestContext) -> None:
            raise PermissionDenied("not this model", "model")

    router = make_router(http, deployment("a", fakes["openai"]))
    state = begin_request("policy", "openai")
    request = ask()
    ctx = RequestContext("openai", Headers(), state)
    response, _ = await Gateway(router, policies=PolicyChain([Record()])).chat("smart", request, ctx)
    assert response.text and seen == [("smart", request)] and ctx.checked
    refusing = Gateway(router, policies=PolicyChain([Record(), Refuse()]))
    for call in (refusing.chat, refusing.stream):
        with pytest.raises(PermissionDenied):
            await call("smart", request, RequestContext("openai", Headers(), state))
    assert len(fakes["openai"].requests) == 1, "a refused request never reaches upstream"
