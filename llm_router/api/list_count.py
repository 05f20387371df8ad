"""How long a body's top-level list is, told without decoding the body (bad-input matrix I8),
and a big body cut into its top-level fields and that list's items, to be decoded in pieces.

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

__all__ = ["Counted", "longer_than", "split"]

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


_TOP: msgspec.json.Decoder[dict[str, msgspec.Raw]] = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ITEMS: msgspec.json.Decoder[list[msgspec.Raw]] = msgspec.json.Decoder(list[msgspec.Raw])


def split(raw: bytes, field: str) -> tuple[dict[str, msgspec.Raw], list[msgspec.Raw]] | None:
    """A JSON object's top-level values and the items of its list ``field``, all as unparsed
    spans (a few milliseconds per megabyte); None when ``raw`` is not an object with that list
    (or is nested too deep): the full decode then judges it."""
    try:
        top = _TOP.decode(raw)
        items = _ITEMS.decode(top[field]) if field in top else None
    except (msgspec.DecodeError, RecursionError):
        return None
    return (top, items) if items is not None else None


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
