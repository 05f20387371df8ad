"""How long a body's top-level list is, told without decoding the body (bad-input matrix I8).

A body of 100,000 tiny messages takes orjson tens of milliseconds to turn into 100,000 dicts
(and pydantic a second to validate them), all of it holding the event loop, only for the
request to be refused by its count. msgspec reads the same bytes into the one field asked
for, its items left as unparsed spans (``msgspec.Raw``): a few milliseconds per megabyte, and
nothing else built.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import msgspec

__all__ = ["Counted", "longer_than"]

#: The list fields a surface caps: chat ``messages``; Responses and embeddings ``input``.
Counted = Literal["messages", "input"]


class _Messages(msgspec.Struct):
    messages: list[msgspec.Raw] | None = None


class _Input(msgspec.Struct):
    input: list[msgspec.Raw] | str | None = None


_DECODERS: Mapping[str, msgspec.json.Decoder[Any]] = MappingProxyType({
    "messages": msgspec.json.Decoder(_Messages),
    "input": msgspec.json.Decoder(_Input),
})


def longer_than(raw: bytes, cap: int, field: Counted = "messages") -> bool:
    """True when ``raw`` is a JSON object whose ``field`` is a list of more than ``cap`` items.
    False for anything else (a shorter list, no list, a body that is not JSON): the full
    decode then judges it. A body too short to hold ``cap + 1`` items is not scanned."""
    if len(raw) < 2 * cap + 3:  # '[' + cap + 1 items of 1 byte + cap commas + ']'
        return False
    try:
        value = getattr(_DECODERS[field].decode(raw), field)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError too;
        return False  # too deep a body: orjson refuses it (400) in the full decode
    return isinstance(value, list) and len(value) > cap
