"""The cache key (pure): a digest of the canonical form of everything that can change an
answer, and of who is asking.

The material is the canonical request (every field but ``model``, which is replaced by the
target as resolved: route or deployment name and the deployments behind it), the client's
own body when the surface kept it (``origin``: fields the canonical request does not model,
provider-specific ones included) and the upstream headers it carries, the surface, whether
the answer streams, and the tenant. It is serialised as JSON with sorted keys, so the
order of keys and the whitespace of the client's body do not matter; every other
difference does (integral floats are written as integers: ``0.0`` and ``0`` are the same
number in JSON; a field set to ``null`` is the field left out)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import orjson

from llm_router.messages import ChatRequest

__all__ = ["cache_key", "canonical", "material"]
VERSION = 1


def material(request: ChatRequest, *, surface: str, tenant: str, target: Any,
             streamed: bool) -> dict[str, Any]:
    """Everything the key is made of, as plain JSON values."""
    fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)
              if f.name not in ("model", "origin")}
    origin = request.origin
    wire = None
    if origin is not None:
        body = {k: v for k, v in origin.body.items() if k != "model"}
        wire = {"format": origin.format, "body": body,
                "headers": {k.lower(): v for k, v in origin.headers.items()}}
    return {"v": VERSION, "surface": surface, "tenant": tenant, "target": target,
            "stream": streamed, "request": fields, "wire": wire}


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON: sorted keys, no whitespace, integral floats as integers."""
    return orjson.dumps(_plain(value), option=orjson.OPT_SORT_KEYS)


def cache_key(request: ChatRequest, *, surface: str, tenant: str, target: Any, streamed: bool) -> str:
    """The hex SHA-256 of the canonical material."""
    data = material(request, surface=surface, tenant=tenant, target=target, streamed=streamed)
    return hashlib.sha256(canonical(data)).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):  # an explicit null is the field left out
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"@": type(value).__name__,
                **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot key a {type(value).__name__}")
