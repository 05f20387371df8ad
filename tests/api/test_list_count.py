"""The message count read off a body's bytes (api/list_count.py), against orjson's reading."""

import orjson
import pytest

from llm_router.api.list_count import longer_than


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 5000])
def test_it_counts_the_top_level_messages_list(n: int) -> None:
    body = orjson.dumps({"model": "m", "tools": [{"x": [1, 2, 3]}] * 50,
                         "messages": [{"role": "user", "content": "[x]"}] * n})
    assert longer_than(body, 10) is (n > 10)


def test_the_shortest_items_are_counted() -> None:
    assert longer_than(b'{"messages":[1,1,1,1]}', 3)
    assert not longer_than(b'{"messages":[1,1,1]}', 3)
    assert longer_than(b'{ "messages" : [ {} , [] , "" , null ] }', 3)


def test_nested_lists_and_strings_are_not_counted_as_messages() -> None:
    inner = orjson.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}] * 20,
                                        "name": '"messages": [1,1,1,1,1]'}]})
    assert not longer_than(inner, 3)


@pytest.mark.parametrize("raw", [b"not json" * 10, b'{"messages": {"a": 1}}' + b" " * 20,
                                 b'{"messages": null}' + b" " * 20, b"[1, 2, 3, 4, 5, 6, 7, 8, 9]",
                                 b'{"messages": [1, 2, 3, 4, 5,', b'{"model": "m"}' + b" " * 20])
def test_anything_else_is_left_to_the_full_decode(raw: bytes) -> None:
    assert not longer_than(raw, 3)


def test_the_input_field_is_counted_whether_a_list_or_not() -> None:
    assert longer_than(orjson.dumps({"input": [{"role": "user", "content": "x"}] * 11}), 10, "input")
    assert not longer_than(orjson.dumps({"input": [[1, 2]] * 10}), 10, "input")
    assert not longer_than(orjson.dumps({"input": "x" * 100}), 10, "input")  # one text
    assert not longer_than(orjson.dumps({"messages": [1] * 100}), 10, "input")


def test_a_body_too_deep_to_scan_is_left_to_the_full_decode() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert not longer_than(b'{"messages": [' + deep + b"]}", 3)
    assert not longer_than(b'{"input": ' + deep + b"}", 3, "input")
