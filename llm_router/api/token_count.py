"""Counting a request's input tokens without asking a provider (pure).

``count`` uses the model's own tokenizer where one is installed and usable (``tiktoken`` for
OpenAI models, when its encoding files are available: it fetches them on first use, which an
offline host cannot do) and otherwise the documented estimate: one token per 4 characters of
text (system, messages, tool calls and results, tool names, descriptions and schemas as JSON;
for a model whose prompt we write, the local model's, the text it reads: its tools as a system
block of instructions and signatures), plus 4 per message and 1,000 per image. The estimate
errs high rather than low: budgets and rate limits reserve from it, and Claude Code treats 0
as broken.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

import orjson

from llm_router.messages import ChatRequest, ImagePart, Message

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4
PER_IMAGE = 1000
_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-")


def _texts(request: ChatRequest) -> Iterator[str]:
    for message in request.messages:
        yield from _message_texts(message)
    for tool in request.tools:
        yield tool.name
        yield tool.description or ""
        if tool.parameters:
            yield orjson.dumps(tool.parameters).decode()


def _read(request: ChatRequest, texts: list[str] | None) -> Iterable[str]:
    """What the model reads: ``texts`` when we write its prompt, else the request's texts."""
    return _texts(request) if texts is None else texts


def _message_texts(message: Message) -> Iterator[str]:
    yield message.text()
    for call in message.tool_calls:
        yield call.name
        yield call.arguments


def _images(request: ChatRequest) -> int:
    return sum(1 for m in request.messages if isinstance(m.content, tuple)
               for p in m.content if isinstance(p, ImagePart))


def _overhead(request: ChatRequest) -> int:
    return PER_MESSAGE * len(request.messages) + PER_IMAGE * _images(request)


def estimate(request: ChatRequest, texts: list[str] | None = None) -> int:
    """The documented estimate (of ``texts``, when the model reads those instead of the
    request's own); at least 1."""
    chars = sum(len(text) for text in _read(request, texts))
    return max(1, -(-chars // CHARS_PER_TOKEN) + _overhead(request))


@lru_cache(maxsize=8)
def _encoder(model: str) -> Callable[[str], list[int]] | None:
    """The tiktoken encoder for an OpenAI model, or None if it cannot be had here."""
    if not model.startswith(_OPENAI_PREFIXES):
        return None
    try:
        tiktoken = importlib.import_module("tiktoken")
        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
        encode: Callable[[str], list[int]] = encoding.encode_ordinary
        encode("ok")
        return encode
    except Exception:  # not installed, or its encoding files cannot be fetched
        return None


def count(request: ChatRequest, model: str, texts: list[str] | None = None) -> tuple[int, str]:
    """The input token count and how it was made (``tokenizer`` or ``estimate``); ``texts``:
    what the model reads instead of the request's own texts, when we write its prompt."""
    encode = _encoder(model)
    if encode is None:
        return estimate(request, texts), "estimate"
    tokens = sum(len(encode(text)) for text in _read(request, texts) if text)
    return max(1, tokens + _overhead(request)), "tokenizer"
