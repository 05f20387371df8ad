"""Deterministic embedding vectors for the fakes: the same input always gives the same
vector, every value exactly representable as float32 (k/256), so a float answer and a
base64 (little-endian float32) answer carry the very same numbers."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any


def fake_vector(text: Any, dims: int) -> list[float]:
    """``dims`` values in [-0.5, 0.5) derived from ``text`` (a string or a token array)."""
    seed = repr(text).encode()
    out: list[float] = []
    counter = 0
    while len(out) < dims:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        out += [(b - 128) / 256 for b in digest]
        counter += 1
    return out[:dims]


def encode_vector(vector: list[float], encoding: str) -> Any:
    """The vector as floats, or base64 of its little-endian float32 bytes."""
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def token_count(text: Any) -> int:
    """A stand-in token count: words of a string, length of a token array."""
    return len(text) if isinstance(text, list) else max(1, len(str(text).split()))
