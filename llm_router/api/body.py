"""Request bodies read and validated: the JSON decoded once, a capped list counted from the
bytes first and, in a big body, validated in pieces (bad-input matrix I8); integers beyond
64 bits refused; every refusal an :class:`~llm_router.errors.InvalidRequest` naming the first
bad field (``api/errors.py`` renders it in the surface's shape)."""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from llm_router.api.list_count import Counted, longer_than, split
from llm_router.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], raw: bytes, status: int = 422, noun: str = "field") -> M:
    """Validate a JSON body: 400 if unreadable, ``status`` naming the offending field otherwise."""
    try:
        body = model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_fields(exc.errors(), status, noun) from None
    reject_huge_integers(raw, status, noun)
    return body


def parse_json(model: type[M], raw: bytes, status: int = 422, noun: str = "field",
               cap: tuple[Counted, int] | None = None) -> tuple[M, dict[str, Any]]:
    """Decode a JSON object once and validate it: the model and the decoded object (which a
    pass-through sends on). A body refused either way is judged again by :func:`parse_body`,
    so its error is the one it always was. ``cap`` (a list field, its most items) refuses a
    longer list from the bytes, before anything is decoded (see ``list_count``)."""
    if cap is not None and longer_than(raw, cap[1], cap[0]):
        raise InvalidRequest(f"Invalid {noun} '{cap[0]}': at most {cap[1]} items.", cap[0], status)
    if cap is not None and is_big(raw):
        parsed = _in_chunks(model, raw, cap[0], status, noun)
        if parsed is not None:
            return parsed
    try:
        data = orjson.loads(raw)
        if isinstance(data, dict):
            body = model.model_validate(data)
            reject_huge_integers(raw, status, noun)
            return body, data
    except (orjson.JSONDecodeError, ValidationError):
        pass
    return parse_body(model, raw, status, noun), orjson.loads(raw)


#: A body this big is read off the loop (``aio.off_loop``; the surfaces test ``is_big``) and
#: a capped list in it decoded and validated in pieces (``_in_chunks``).
BIG_BYTES = 256 * 1024
#: Items per piece: a millisecond or two of validation each.
CHUNK_ITEMS = 512


def is_big(raw: bytes) -> bool:
    """Whether a body is big enough to be read and translated off the loop."""
    return len(raw) >= BIG_BYTES


def _in_chunks(model: type[M], raw: bytes, field: str, status: int,
               noun: str) -> tuple[M, dict[str, Any]] | None:
    """:func:`parse_json` for a big body, its list ``field`` decoded and validated
    ``CHUNK_ITEMS`` at a time, so that no single call holds the interpreter for long (a
    100,000-message body: a quarter of a second in one validation): run in a worker thread
    (``aio.off_loop``), the loop gets its turns between the pieces. The first piece is
    validated with the rest of the body (the model's own rules see a non-empty list), the
    others as lists of the item type, their errors located as the whole model would locate
    them. None when ``field`` is not a plain list of the model or the body does not decode
    (the whole decode then says why)."""
    adapter = _items_adapter(model, field)
    parts = split(raw, field) if adapter is not None else None
    if adapter is None or parts is None:
        return None
    top, items = parts
    try:
        first = _piece(items, 0)
        data = {name: first if name == field else orjson.loads(memoryview(v)) for name, v in top.items()}
        body = _validated(model.model_validate, data, 0, "", status, noun)
        values, whole = list(getattr(body, field)), list(first)
        for start in range(CHUNK_ITEMS, len(items), CHUNK_ITEMS):
            piece = _piece(items, start)
            values += _validated(adapter.validate_python, piece, start, field, status, noun)
            whole += piece
    except orjson.JSONDecodeError:
        return None
    data[field] = whole
    setattr(body, field, values)
    reject_huge_integers(raw, status, noun)
    return body, data


def _piece(items: list[Any], start: int) -> list[Any]:
    return orjson.loads(b"[" + b",".join(items[start:start + CHUNK_ITEMS]) + b"]")  # type: ignore[no-any-return]


V = TypeVar("V")


def _validated(validate: Callable[[Any], V], value: Any, start: int, field: str, status: int, noun: str) -> V:
    """``validate(value)``; its first error as the whole body's (items ``start`` on of ``field``)."""
    try:
        return validate(value)
    except ValidationError as exc:
        errors = exc.errors()
        if field:
            errors = [{**e, "loc": (field, start + int(e["loc"][0]), *e["loc"][1:])} for e in errors]
        raise invalid_fields(list(errors), status, noun) from None


@functools.cache
def _items_adapter(model: type[BaseModel], field: str) -> TypeAdapter[list[Any]] | None:
    """A validator of ``field``'s items as a list, when the field is a plain ``list[...]``."""
    info = model.model_fields.get(field)
    annotation: Any = info.annotation if info is not None else None
    return TypeAdapter(annotation) if typing.get_origin(annotation) is list else None


# 19 digits in a row: the only bodies that may hold an integer JSON encoders can't carry. Found
# by mapping every digit to "0" and everything else to " " (a C loop) and searching for the run:
# ten times the speed of a regular expression, on a 200-byte body and a 20 kB one alike.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19
_INT_RANGE = (-(2**63), 2**64)  # what orjson (and the providers' parsers) can encode


def reject_huge_integers(raw: bytes, status: int = 400, noun: str = "field") -> None:
    """Refuse a body holding an integer beyond 64 bits (a 30-digit ``maximum`` in a tool schema,
    say), naming the field: it could not be sent on. A fast scan rules out almost every body;
    only a body with a 19-digit run is decoded again (with arbitrary-precision integers)."""
    if _LONG_RUN not in raw.translate(_DIGITS_ONLY):
        return
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return  # the validator already judged the body readable; nothing more to say here
    path = _huge_integer(data)
    if path is not None:
        field = ".".join(map(str, path)) or "body"
        raise InvalidRequest(f"Invalid {noun} '{field}': integers beyond 64 bits are not supported.",
                             field, status)


def _huge_integer(data: Any) -> tuple[Any, ...] | None:
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _INT_RANGE[0] <= value < _INT_RANGE[1]:
                return path
    return None


def invalid_body(exc: ValidationError, status: int = 422, noun: str = "field") -> InvalidRequest:
    """The InvalidRequest for a body that failed validation, naming the first bad field."""
    return invalid_fields(exc.errors(), status, noun)


def invalid_fields(errors: list[Any], status: int, noun: str = "field") -> InvalidRequest:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return InvalidRequest(f"Request body is not valid JSON ({first.get('msg', '')}).", None, 400)
    if first.get("type") in ("json_type", "model_type"):
        return InvalidRequest("Request body must be a JSON object.", None, 400)
    field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return InvalidRequest(f"Invalid {noun} '{field}': {first.get('msg', 'invalid value')}.", field, status)
