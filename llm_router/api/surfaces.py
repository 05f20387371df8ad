"""The data plane's routing table: every surface is one row.

A surface is a path, the error shape it answers in, a handler and the pydantic model of its
request body (for the OpenAPI document). The handler gets the gateway, the request's
:class:`~llm_router.policies.base.RequestContext` (already admitted: authenticated, and the body
read under the size limit), the raw body and the ASGI ``receive`` (to notice a client that
leaves). It decodes the body into a canonical request, calls the gateway (which runs the
policies' ``check`` and the router) and encodes the answer in its wire format. Errors are
raised, never rendered here: the one renderer in ``api/errors.py`` shapes them per surface.

Adding a surface: write its module (decode, encode, handler) and add one row to ``routes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope

from llm_router.api.errors import Surface
from llm_router.policies.base import RequestContext

if TYPE_CHECKING:
    from llm_router.gateway import Gateway

Handler = Callable[["Gateway", RequestContext, bytes, Receive], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class SurfaceRoute:
    """One data-plane endpoint."""

    path: str
    surface: Surface
    handler: Handler
    request_model: type[BaseModel]
    summary: str
    #: The name of the surface in metrics and usage records (``chat``, ``openai``, ...).
    name: str = ""
    #: Whether the handler's success answer may be an SSE stream (for the OpenAPI document).
    streams: bool = True


def route_path(scope: Scope) -> str:
    """The path as the routing table sees it: without the ``root_path`` prefix, if the server
    put it in front (behind a path-prefix proxy)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root):] or "/"
    return path


def surface_for_path(path: str) -> Surface:
    """The error shape for a path no route may have matched (404, 405, 413...)."""
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/chat"):
        return "chat"
    return "openai"


def routes() -> tuple[SurfaceRoute, ...]:
    """Every data-plane surface, in the order they are matched."""
    from llm_router.api import anthropic_surface, chat, embeddings_surface, openai_compat, responses_surface
    from llm_router.api.anthropic_schema import CountTokensIn, MessagesIn
    from llm_router.api.embeddings_schema import EmbeddingsIn
    from llm_router.api.openai_schema import ChatCompletionIn
    from llm_router.api.responses_schema import ResponsesIn

    return (
        SurfaceRoute("/chat/", "chat", chat.handle_chat, chat.ChatBody,
                     "Send one message to a model (the original API).", "chat"),
        SurfaceRoute("/v1/chat/completions", "openai", openai_compat.handle_completions,
                     ChatCompletionIn, "OpenAI Chat Completions.", "openai"),
        SurfaceRoute("/v1/messages", "anthropic", anthropic_surface.handle_messages, MessagesIn,
                     "Anthropic Messages (Claude Code, the anthropic SDK).", "anthropic"),
        SurfaceRoute("/v1/messages/count_tokens", "anthropic", anthropic_surface.handle_count_tokens,
                     CountTokensIn, "Anthropic token counting.", "anthropic", streams=False),
        SurfaceRoute("/v1/responses", "openai", responses_surface.handle_responses, ResponsesIn,
                     "OpenAI Responses (Codex, the Agents SDK), for every provider.", "responses"),
        SurfaceRoute("/v1/embeddings", "openai", embeddings_surface.handle_embeddings, EmbeddingsIn,
                     "OpenAI embeddings (OpenAI, Cohere, OpenAI-compatible).", "embeddings",
                     streams=False),
    )
