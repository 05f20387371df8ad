"""Faithful fake upstreams (OpenAI, Anthropic, Cohere) for tests.

Each fake is a real HTTP server on 127.0.0.1 (ephemeral port) running in a background thread
with its own event loop; every method below is safe to call from any thread.

- ``start()`` (idempotent, returns self) / ``stop()`` (joins the thread)
- ``base_url`` (OpenAI ``http://127.0.0.1:PORT/v1``, others ``http://127.0.0.1:PORT``), ``port``
- ``enqueue(*replies)``: FIFO; each chat request consumes one, ``Reply()`` when empty
- ``reset()``: clear the queue and the request log
- ``requests``: copy of the log of ``RecordedRequest`` (every request, any path, in order)
- ``wait_for_close(timeout=2.0)``: True once the last request has ``client_closed``

Chat endpoints: OpenAI ``POST /v1/chat/completions``, Anthropic ``POST /v1/messages``,
Cohere ``POST /v2/chat``; all answer ``GET /v1/models`` in their own shape.
"""

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.cohere import FakeCohere
from tests.fakes.openai import FakeOpenAI
from tests.fakes.wire import RecordedRequest, Reply, ToolCallSpec

__all__ = ["FakeAnthropic", "FakeCohere", "FakeOpenAI", "RecordedRequest", "Reply", "ToolCallSpec"]
