"""The local engine: one GGUF model, loaded once and shared by every request of the
process, generating one answer at a time in a worker thread so that the event loop never
waits on it. Requests beyond the one running wait in a bounded queue; past the bound the
engine raises Overloaded (503 with Retry-After). A cancelled request sets a flag that the
worker checks at every token, so a client that goes away stops its generation.

The runtime is xllamacpp (llama.cpp's own server code, in-process, from a binary wheel).
It answers OpenAI-style chat requests given as dicts, streamed through a callback; the
callback returning True stops the generation. llama.cpp's server also opens a listener:
here it is a Unix socket in a private temporary directory, behind a random API key."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncGenerator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from llm_router.config.deployment import Deployment, LocalOptions
from llm_router.distribution import local_install_command
from llm_router.errors import InvalidRequest, Overloaded, ProviderError, ProviderUnavailable
from llm_router.messages import ChatChunk, FinishReason, Usage

log = logging.getLogger("llm_router.local")

# Sampling when the request does not say: the small bundled model answers most coherently
# greedily with a light repetition penalty (measured on fixed prompts; README, "local").
DEFAULT_SAMPLING: dict[str, Any] = {"temperature": 0.0, "repeat_penalty": 1.1}


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How to load and run one model file (LOCAL_* settings)."""

    model_path: str
    context_tokens: int = 2048
    threads: int | None = None
    max_queue: int = 8
    weight_repack: bool = False

    @classmethod
    def for_deployment(cls, deployment: Deployment, model_path: str) -> EngineOptions:
        """The options a ``local`` deployment carries, with defaults for the rest."""
        return cls.from_local(deployment.local or LocalOptions(), model_path)

    @classmethod
    def from_local(cls, local: LocalOptions, model_path: str) -> EngineOptions:
        """The options of a ``local`` deployment (its LOCAL_* settings) for one file."""
        return cls(model_path, local.context_tokens, local.threads, local.max_queue,
                   local.weight_repack)

    def thread_count(self) -> int:
        """LOCAL_THREADS, else half the CPUs (at least one)."""
        return self.threads or max(1, (os.cpu_count() or 2) // 2)


@dataclass(slots=True, eq=False)  # compared and hashed by identity
class _Job:
    """One generation: its request body and the way back to the event loop."""

    arguments: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    chunks: asyncio.Queue[ChatChunk | BaseException]
    cancelled: threading.Event = field(default_factory=threading.Event)
    future: Future[None] | None = None

    def emit(self, item: ChatChunk | BaseException) -> None:
        """Hand an item to the waiting coroutine (called from the worker thread)."""
        try:
            self.loop.call_soon_threadsafe(self.chunks.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.cancelled.set()

    def cancel(self) -> None:
        """Stop the generation at its next token, or drop it if it has not started."""
        self.cancelled.set()
        if self.future is not None:
            self.future.cancel()


class LocalEngine:
    """Owns one loaded model, its worker thread and its queue."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-router-local")
        self._lock = threading.Lock()
        self._admitted = 0
        self._jobs: set[_Job] = set()
        self._server: Any = None
        self._socket_dir: str | None = None
        self.cancelled_generations = 0  # stopped because their client went away

    @property
    def admitted(self) -> int:
        """Requests being answered or waiting (the queue bound counts these)."""
        return self._admitted

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self._server is not None

    async def preload(self) -> None:
        """Load the model now (in the worker thread) instead of on first use."""
        await asyncio.wrap_future(self._executor.submit(self._model))

    async def generate(self, arguments: dict[str, Any]) -> AsyncGenerator[ChatChunk, None]:
        """Stream one answer: text chunks, then a last chunk with finish_reason and usage."""
        job = self._admit(arguments)
        try:
            while True:
                item = await job.chunks.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            job.cancel()
            self._release(job)

    def close(self) -> None:
        """Stop the running generation, drop the waiting ones, unload the model and end
        the worker thread (the unload runs after whatever the worker is doing)."""
        with self._lock:
            for job in self._jobs:
                job.cancelled.set()
        try:
            self._executor.submit(self._unload)
        except RuntimeError:  # already closed
            return
        self._executor.shutdown(wait=False)

    def _admit(self, arguments: dict[str, Any]) -> _Job:
        job = _Job(arguments, asyncio.get_running_loop(), asyncio.Queue())
        with self._lock:
            if self._admitted > self.options.max_queue:  # one running, max_queue waiting
                raise Overloaded(f"The local model is busy ({self._admitted} requests running "
                                 "or waiting); retry later.", retry_after=1.0)
            self._admitted += 1
            self._jobs.add(job)
        try:
            job.future = self._executor.submit(self._run, job)
        except RuntimeError:  # the engine was closed
            self._release(job)
            raise ProviderUnavailable("The local model is shutting down.") from None
        return job

    def _release(self, job: _Job) -> None:
        with self._lock:
            if job in self._jobs:
                self._jobs.discard(job)
                self._admitted -= 1

    def _run(self, job: _Job) -> None:
        """Worker thread: one whole generation, its chunks sent back as they come."""
        if job.cancelled.is_set():
            return
        try:
            _Generation(job, self).run(self._model())
        except (InvalidRequest, ProviderError, ProviderUnavailable) as error:
            job.emit(error)
        except Exception as error:
            log.exception("local generation failed")
            job.emit(ProviderError(f"The local model failed: {type(error).__name__}.", provider="local"))

    def _model(self) -> Any:
        """The loaded model (worker thread only); loads it on first use."""
        if self._server is None:
            started = time.monotonic()
            self._socket_dir = tempfile.mkdtemp(prefix="llm-router-local-")
            self._server = _load(self.options, os.path.join(self._socket_dir, "llama.sock"))
            log.info("local model %s loaded in %.2f s", self.options.model_path,
                     time.monotonic() - started)
        return self._server

    def _unload(self) -> None:
        self._server = None  # the server's destructor stops its threads
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None


class _Generation:
    """The callback side of one streamed answer (worker thread): llama.cpp's chunks in,
    canonical chunks out; returns True to stop when the client has gone away."""

    def __init__(self, job: _Job, engine: LocalEngine) -> None:
        self.job, self.engine = job, engine
        self.tokens = 0
        self.finish: FinishReason = "stop"
        self.usage: Usage | None = None
        self.error: BaseException | None = None
        self.stopped = False

    def run(self, server: Any) -> None:
        """Generate; emits the text, then the last chunk (or the error)."""
        _check_fits(self.job.arguments, self.engine.options.context_tokens)
        started = time.monotonic()
        body = {**DEFAULT_SAMPLING, **self.job.arguments, "stream": True,
                "stream_options": {"include_usage": True}}
        context = max(self.engine.options.context_tokens, MIN_CONTEXT_TOKENS)
        if body.get("max_tokens") is not None:  # more than the context can never be generated
            body["max_tokens"] = min(int(body["max_tokens"]), context)
        server.handle_chat_completions(body, self.on_chunk)
        if self.stopped:
            self.engine.cancelled_generations += 1
            log.info("local generation cancelled after %d tokens", self.tokens)
            return
        if self.error is not None:
            raise self.error
        usage = self.usage or Usage(output_tokens=self.tokens)
        log.info("local generation finished: %d+%d tokens in %.2f s (%s)", usage.input_tokens,
                 usage.output_tokens, time.monotonic() - started, self.finish)
        self.job.emit(ChatChunk(finish_reason=self.finish, usage=usage))

    def on_chunk(self, chunk: Any) -> bool:
        """One chunk from llama.cpp; True stops the generation. Never raises (the runtime
        would swallow the exception)."""
        if self.job.cancelled.is_set():
            self.stopped = True
            return True
        try:
            return self._read(chunk)
        except Exception as error:  # an unexpected shape: fail the request, not the thread
            self.error = ProviderError(f"The local model answered unreadably: {error!r}.",
                                       provider="local")
            return True

    def _read(self, chunk: dict[str, Any]) -> bool:
        if "error" in chunk:
            self.error = _error(chunk["error"])
            return True
        if chunk.get("usage"):
            u = chunk["usage"]
            self.usage = Usage(input_tokens=int(u.get("prompt_tokens") or 0),
                               output_tokens=int(u.get("completion_tokens") or 0))
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                self.tokens += 1
                self.job.emit(ChatChunk(text=text))
            if choice.get("finish_reason") == "length":
                self.finish = "length"
        return False


# llama.cpp never runs with less context than this, whatever n_ctx says.
MIN_CONTEXT_TOKENS = 256


def _check_fits(arguments: dict[str, Any], context_tokens: int) -> None:
    """Refuse, before llama.cpp sees it, a prompt that clearly cannot fit the context: at
    4 characters a token, more tokens than the context holds. (Handing such a prompt to the
    runtime was seen to hang its server thread when the machine was loaded; prompts near
    the limit are still llama.cpp's own call, a 400 too.)"""
    chars = sum(len(str(m.get("content") or "")) for m in arguments.get("messages") or ())
    limit = max(context_tokens, MIN_CONTEXT_TOKENS)
    if chars // 4 > limit:
        raise InvalidRequest(f"The prompt (about {chars // 4} tokens) does not fit the local model's "
                             f"context of {limit} tokens (LOCAL_CONTEXT_TOKENS).", "messages")


def _error(error: Any) -> BaseException:
    """A typed error for llama.cpp's error object (a 400 for a prompt that does not fit)."""
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    code = error.get("code", 500) if isinstance(error, dict) else 500
    if isinstance(code, int) and 400 <= code < 500:
        setting = " (LOCAL_CONTEXT_TOKENS)" if "context" in message else ""
        return InvalidRequest(f"The local model cannot take this request: {message}{setting}", "messages")
    return ProviderError(f"The local model failed: {message}", provider="local")


def _load(options: EngineOptions, socket_path: str) -> Any:
    """An ``xllamacpp.Server`` for the options; imported here so the extra stays optional."""
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ModuleNotFoundError as error:
        if error.name != "xllamacpp":
            raise ProviderUnavailable(
                f"The local model's runtime (xllamacpp) cannot load: {error}.") from None
        raise ProviderUnavailable(
            f"The local model needs its runtime (xllamacpp): {local_install_command()}.") from None
    except ImportError as error:  # e.g. libgomp.so.1 (the OpenMP runtime) is not installed
        raise ProviderUnavailable(
            f"The local model's runtime (xllamacpp) cannot load: {error}. It needs the OpenMP "
            "runtime: apt-get install libgomp1 (Debian, Ubuntu), dnf install libgomp (Fedora).") from None
    params = xllamacpp.CommonParams()
    params.model.path = options.model_path
    params.n_ctx = options.context_tokens
    params.n_parallel = 1  # one generation at a time: the engine queues the rest
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = options.thread_count()
    params.verbosity = -1  # llama.cpp's own log lines would interleave with ours on stderr
    params.warmup = False
    # Off by default: llama.cpp's repacked AMX matmul segfaults on some Xeon CPUs
    # (https://github.com/ggml-org/llama.cpp/issues/20824).
    params.no_extra_bufts = not options.weight_repack
    # llama.cpp's server always listens too: only on a private socket, behind a random key.
    params.hostnames = [socket_path]
    params.api_keys = [secrets.token_urlsafe(32)]
    try:
        return xllamacpp.Server(params)
    except (ValueError, RuntimeError, OSError) as error:
        raise ProviderUnavailable(f"Cannot load the local model {options.model_path}: {error}") from None
