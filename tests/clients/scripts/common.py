"""Shared by the client scripts (run inside each client's own venv, without llm_router):
where the router is, which model to ask, and one JSON line per case on stdout."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

URL = os.environ["ROUTER_URL"].rstrip("/") + "/v1"
MODEL = os.environ["ROUTER_MODEL"]
KEY = os.environ.get("ROUTER_KEY", "sk-client-test")
ONLY = set(filter(None, os.environ.get("ROUTER_CASES", "").split(",")))

PERSON_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                 "required": ["name", "age"]}


def lookup(q: str) -> str:
    """Look a word up in the dictionary."""
    return f"{q}: a small test word"


def report(name: str, ok: bool, detail: str = "") -> None:
    print(json.dumps({"case": name, "ok": ok, "detail": detail[-3000:]}), flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def run(cases: list[tuple[str, Callable[[], Any]]]) -> None:
    """Run each case in order (their scripted replies are queued in that order)."""
    for name, case in cases:
        if ONLY and name not in ONLY:
            continue
        try:
            case()
        except BaseException as exc:  # every failure is reported; the next case runs
            report(name, False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        else:
            report(name, True)
    sys.stdout.flush()
