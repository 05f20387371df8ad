"""The local engine: one GGUF model, loaded once and shared by every request of the
process, generating one answer at a time in a worker thread so that the event loop never
waits on it. Requests beyond the one running wait in a bounded queue; past the bound the
engine raises Overloaded (503 with Retry-After). A cancelled request sets a flag that the
worker checks between tokens, so a client that goes away stops its generation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from llm_router.config.deployment import LocalOptions
from llm_router.errors import InvalidRequest, Overloaded, ProviderError, ProviderUnavailable, RouterError
from llm_router.messages import ChatChunk, Usage

log = logging.getLogger("llm_router.local")
_LOAD_LOCK = threading.Lock()  # loading patches a llama-cpp function for the duration


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How to load and run one model file (LOCAL_* settings)."""

    model_path: str
    context_tokens: int = 2048
    threads: int | None = None
    max_queue: int = 8
    weight_repack: bool = False

    @classmethod
    def from_local(cls, local: LocalOptions, model_path: str) -> EngineOptions:
        """The options of a ``local`` deployment (its LOCAL_* settings) for one file."""
        return cls(model_path, local.context_tokens, local.threads, local.max_queue,
                   local.weight_repack)


@dataclass(slots=True)
class _Job:
    """One generation: its llama-cpp arguments and the way back to the event loop."""

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


class _TokenCount:
    """Counts the prompt and generated tokens of the running generation by watching
    ``Llama.generate``: llama-cpp-python reports no usage when it streams. The counts
    equal its non-streamed ``usage`` (the end-of-generation token is not counted). It
    also ends the generation at ``limit`` tokens, which llama-cpp-python overshoots while
    a multi-byte character is incomplete."""

    def __init__(self) -> None:
        self.prompt = 0
        self.completion = 0
        self.limit: int | None = None

    def watch(self, generate: Callable[..., Iterator[int]],
              is_end: Callable[[int], bool]) -> Callable[..., Iterator[int]]:
        """A drop-in ``generate`` that counts what it yields."""

        def counting(tokens: list[int], *args: Any, **kwargs: Any) -> Iterator[int]:
            self.prompt, self.completion = len(tokens), 0
            for token in generate(tokens, *args, **kwargs):
                if not is_end(token):
                    self.completion += 1
                yield token
                if self.limit is not None and self.completion >= self.limit:
                    return  # llama-cpp then finishes with "length"

        return counting

    def usage(self) -> Usage:
        """The counts as canonical usage."""
        return Usage(input_tokens=self.prompt, output_tokens=self.completion)


class LocalEngine:
    """Owns one loaded model, its worker thread and its queue."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-router-local")
        self._lock = threading.Lock()
        self._admitted = 0
        self._current: _Job | None = None
        self._llama: Any = None
        self._count = _TokenCount()

    @property
    def admitted(self) -> int:
        """Requests being answered or waiting (the queue bound counts these)."""
        return self._admitted

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self._llama is not None

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
            self._release()

    def close(self) -> None:
        """Stop the running generation, drop the waiting ones and end the worker thread."""
        with self._lock:
            if self._current is not None:
                self._current.cancelled.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _admit(self, arguments: dict[str, Any]) -> _Job:
        with self._lock:
            if self._admitted > self.options.max_queue:  # one running, max_queue waiting
                raise Overloaded(f"The local model is busy ({self._admitted} requests running "
                                 "or waiting); retry later.", retry_after=1.0)
            self._admitted += 1
        job = _Job(arguments, asyncio.get_running_loop(), asyncio.Queue())
        try:
            job.future = self._executor.submit(self._run, job)
        except RuntimeError:  # the engine was closed
            self._release()
            raise ProviderUnavailable("The local model is shutting down.") from None
        return job

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def _run(self, job: _Job) -> None:
        """Worker thread: one whole generation, its chunks sent back as they come."""
        if job.cancelled.is_set():
            return
        with self._lock:
            self._current = job
        try:
            self._generate(job)
        except RouterError as error:
            job.emit(error)
        except ValueError as error:  # llama-cpp's word for "prompt longer than the context"
            job.emit(InvalidRequest(f"The local model cannot take this request: {error}", "messages"))
        except Exception as error:
            log.exception("local generation failed")
            job.emit(ProviderError(f"The local model failed: {type(error).__name__}.", provider="local"))
        finally:
            with self._lock:
                self._current = None

    def _generate(self, job: _Job) -> None:
        llama = self._model()
        started = time.monotonic()
        self._count.limit = job.arguments.get("max_tokens")
        parts = llama.create_chat_completion(stream=True, **job.arguments)
        finish = None
        with contextlib.closing(parts):
            for part in parts:
                if job.cancelled.is_set():
                    log.info("local generation cancelled after %d tokens", self._count.completion)
                    return
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                if text:
                    job.emit(ChatChunk(text=text))
                finish = choice.get("finish_reason") or finish
        usage = self._count.usage()
        log.info("local generation finished: %d+%d tokens in %.2f s (%s)", usage.input_tokens,
                 usage.output_tokens, time.monotonic() - started, finish)
        job.emit(ChatChunk(finish_reason="length" if finish == "length" else "stop", usage=usage))

    def _model(self) -> Any:
        """The loaded model (worker thread only); loads it on first use."""
        if self._llama is None:
            started = time.monotonic()
            llama = _load(self.options)
            self._watch_tokens(llama)
            self._llama = llama
            log.info("local model %s loaded in %.2f s", self.options.model_path,
                     time.monotonic() - started)
        return self._llama

    def _watch_tokens(self, llama: Any) -> None:
        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        llama.generate = self._count.watch(
            llama.generate, lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token)))


def _load(options: EngineOptions) -> Any:
    """A ``llama_cpp.Llama`` for the options; imported here so the extra stays optional."""
    try:
        import llama_cpp
    except ImportError:
        raise ProviderUnavailable(
            "The local model needs llama-cpp-python: pip install 'llm-router[local]'.") from None
    with _LOAD_LOCK, _weight_repacking(llama_cpp.llama_cpp, options.weight_repack):
        try:
            return llama_cpp.Llama(model_path=options.model_path, n_ctx=options.context_tokens,
                                   n_threads=options.threads, verbose=False)
        except (ValueError, OSError) as error:
            raise ProviderUnavailable(
                f"Cannot load the local model {options.model_path}: {error}") from None


@contextlib.contextmanager
def _weight_repacking(bindings: Any, enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's weight repacking (``use_extra_bufts``) on or off; the
    high-level API does not expose it. Off by default: the repacked AMX matmul
    segfaults on some Xeon CPUs (https://github.com/ggml-org/llama.cpp/issues/20824)."""
    default = bindings.llama_model_default_params

    def params() -> Any:
        value = default()
        value.use_extra_bufts = enabled
        return value

    bindings.llama_model_default_params = params
    try:
        yield
    finally:
        bindings.llama_model_default_params = default
