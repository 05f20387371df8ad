"""``llm-router chat``: one message (or one per line of standard input) through the
router, the answer streamed to the terminal. In-process by default, with the current
environment and router config; ``--url`` sends it to a running service's ``/chat/``.
An answer is at most ``--max-tokens`` long (512 by default); one that stopped there says so
on stderr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import orjson

from llm_router.config.router_config import build_router_config
from llm_router.config.settings import PROVIDER_NAMES, Settings
from llm_router.errors import RouterError
from llm_router.gateway import Gateway
from llm_router.messages import ChatRequest, Message
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.providers.sse import SSEDecoder
from llm_router.routing.router import Router

DEFAULT_MAX_TOKENS = 512


class ChatFailed(Exception):
    """A message could not be answered; the text is safe to print."""


class ChatTarget(Protocol):
    """Where messages go: the router in this process, or a running service. After an
    answer, ``last_finish`` is its finish reason (``length``: cut at ``--max-tokens``)."""

    last_finish: str | None

    async def default_model(self) -> str: ...

    def answer(self, model: str, args: argparse.Namespace, text: str) -> AsyncIterator[str]: ...


def add_chat_parser(commands: Any) -> None:
    """Register ``chat`` on the CLI's sub-command parser."""
    chat = commands.add_parser("chat", help="send a message through the router and stream the answer")
    chat.add_argument("message", nargs="?", help="the message; without it, one message per stdin line")
    chat.add_argument("-m", "--model", help="any chat_model_name (default: a provider with a key, "
                                            "else the local model)")
    chat.add_argument("--system", help="a system prompt")
    chat.add_argument("--max-tokens", type=_max_tokens, default=DEFAULT_MAX_TOKENS,
                      help=f"longest answer, in tokens (default {DEFAULT_MAX_TOKENS}; 0: no limit)")
    chat.add_argument("--temperature", type=float, default=None)
    chat.add_argument("--config", help="router config file (default: $LLM_ROUTER_CONFIG)")
    chat.add_argument("--url", help="a running llm-router to send to, e.g. http://127.0.0.1:8000")
    chat.add_argument("-v", "--verbose", action="store_true", help="log what the router does")


def _max_tokens(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or more")
    return value


def run_chat(args: argparse.Namespace) -> int:
    """Answer the message(s); 0 when every one was answered."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    try:
        return asyncio.run(_session(args))
    except KeyboardInterrupt:
        return 130


def pick_model(available: Iterable[str]) -> str:
    """The first keyed provider that is configured, else ``local``."""
    names = set(available)
    return next((name for name in PROVIDER_NAMES if name in names), "local")


async def _session(args: argparse.Namespace) -> int:
    target: InProcessChat | RemoteChat = RemoteChat(args.url) if args.url else InProcessChat(args.config)
    async with target:
        model = args.model or await target.default_model()
        if not args.model and model == "local":
            print("llm-router: no provider keys configured; using the local model (-m local)",
                  file=sys.stderr)
        failures = 0
        async for text in _messages(args.message):
            failures += not await _answer_one(target, model, args, text)
        return 1 if failures else 0


async def _messages(message: str | None) -> AsyncIterator[str]:
    if message is not None:
        yield message
        return
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print("> ", end="", file=sys.stderr, flush=True)
        # Read on the loop's thread: nothing else runs between answers, and a reader thread
        # blocked on the terminal would hold up exit after Ctrl-C.
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.strip()


async def _answer_one(target: ChatTarget, model: str, args: argparse.Namespace, text: str) -> bool:
    wrote = False
    target.last_finish = None
    try:
        async for piece in target.answer(model, args, text):
            sys.stdout.write(piece)
            sys.stdout.flush()
            wrote = True
    except ChatFailed as exc:
        print(f"llm-router: {exc}", file=sys.stderr)
        return False
    finally:
        if wrote:
            print(flush=True)
    if target.last_finish == "length":
        print(f"llm-router: the answer stopped at the --max-tokens limit ({args.max_tokens} tokens); "
              "ask for more with --max-tokens N (0: no limit)", file=sys.stderr)
    return True


def _limit(args: argparse.Namespace) -> int | None:
    return args.max_tokens or None


class InProcessChat:
    """The router built from this process's environment, as ``serve`` would build it."""

    def __init__(self, config_path: str | None) -> None:
        settings = Settings()
        config = build_router_config(settings, config_path or settings.llm_router_config)
        self.http = UpstreamClient()
        self.factory = ChatModelFactory(config.deployments, self.http)
        self.gateway = Gateway(Router(config, self.factory))
        self.last_finish: str | None = None

    async def __aenter__(self) -> InProcessChat:
        await self.http.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        self.factory.close()
        await self.http.close()

    async def default_model(self) -> str:
        """A configured keyed provider, else ``local``."""
        return pick_model(self.factory.available())

    async def answer(self, model: str, args: argparse.Namespace, text: str) -> AsyncIterator[str]:
        """The answer's text as it is generated."""
        from llm_router.api.errors import describe

        messages = (Message("system", args.system),) if args.system else ()
        request = ChatRequest(model="", messages=(*messages, Message("user", text)),
                              max_tokens=_limit(args), temperature=args.temperature)
        try:
            stream = await self.gateway.stream(model, request)
            async for chunk in stream:
                if chunk.text:
                    yield chunk.text
                if chunk.finish_reason is not None:
                    self.last_finish = chunk.finish_reason
        except RouterError as exc:
            raise ChatFailed(describe(exc).message) from None


class RemoteChat:
    """A running llm-router, through its ``POST /chat/`` (LLM_ROUTER_API_KEY if set)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        key = os.environ.get("LLM_ROUTER_API_KEY")
        self.headers = {"authorization": f"Bearer {key}"} if key else {}
        self.session: aiohttp.ClientSession | None = None
        self.last_finish: str | None = None

    async def __aenter__(self) -> RemoteChat:
        self.session = aiohttp.ClientSession(headers=self.headers,
                                             timeout=aiohttp.ClientTimeout(total=None, sock_read=600))
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self.session is not None:
            await self.session.close()

    async def default_model(self) -> str:
        """A keyed provider the service has configured, else ``local``."""
        assert self.session is not None
        try:
            async with self.session.get(self.url + "/health") as response:
                health = orjson.loads(await response.read())
        except (aiohttp.ClientError, orjson.JSONDecodeError):
            return "local"
        return pick_model(health.get("providers", []) if isinstance(health, dict) else [])

    async def answer(self, model: str, args: argparse.Namespace, text: str) -> AsyncIterator[str]:
        """The answer's text as the service streams it (as server-sent events, which also
        carry the finish reason and a failure after the stream began)."""
        assert self.session is not None
        body = {"message": text, "chat_model_name": model, "stream": True, "system": args.system,
                "max_tokens": _limit(args), "temperature": args.temperature}
        decoder = SSEDecoder()
        try:
            async with self.session.post(self.url + "/chat/", json=body,
                                         headers={"accept": "text/event-stream"}) as response:
                if response.status != 200:
                    raise ChatFailed(_error_message(response.status, await response.read()))
                async for data in response.content.iter_any():
                    for event in decoder.feed(data):
                        piece = self._read_event(event.event, event.data)
                        if piece:
                            yield piece
        except aiohttp.ClientError as exc:
            raise ChatFailed(f"cannot reach {self.url}: {exc}") from None

    def _read_event(self, name: str | None, data: str) -> str:
        """The text of one ``/chat/`` event; notes the finish reason, raises on an error."""
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return ""
        if not isinstance(payload, dict):
            return ""
        if name == "error":
            error = payload.get("error")
            raise ChatFailed(str(error.get("message") if isinstance(error, dict) else error))
        if name == "done":
            self.last_finish = payload.get("finish_reason")
            return ""
        delta = payload.get("delta")
        return delta if isinstance(delta, str) else ""


def _error_message(status: int, raw: bytes) -> str:
    try:
        return f"HTTP {status}: {orjson.loads(raw)['error']['message']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"HTTP {status}"
