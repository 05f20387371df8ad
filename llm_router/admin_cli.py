"""``llm-router keys|teams|usage|db``: the admin API from a shell.

Talks HTTP to a running server (``--url``, default http://127.0.0.1:8000) with the admin key
from ``LLM_ROUTER_ADMIN_KEY``; ``db upgrade`` migrates the database directly. Output is a
table, or JSON with ``--json``. Examples::

    llm-router teams create --name research --budget 500/month
    llm-router keys create --name alice --team research --models smart,fast --budget 50/month --rpm 60
    llm-router keys list
    llm-router usage --by key --window 1d
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

ADMIN_COMMANDS = ("keys", "teams", "usage", "db")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


class CliError(Exception):
    """A message for the user; exit status 1."""


def parse_window(text: str) -> int:
    """``90``, ``30m``, ``12h``, ``1d``, ``1w`` -> seconds."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        seconds = int(float(number) * (unit or 1))
    except ValueError:
        raise CliError(f"--window: not a duration: {text!r} (try 1d, 12h, 3600)") from None
    if seconds <= 0:
        raise CliError("--window must be positive")
    return seconds


def parse_budget(text: str) -> dict[str, Any]:
    """``50/month``, ``0.5/day``, ``10`` (a month) -> the API's budget object."""
    amount, _, period = text.partition("/")
    try:
        max_usd = float(amount.strip().lstrip("$"))
    except ValueError:
        raise CliError(f"--budget: not an amount: {text!r} (try 50/month)") from None
    period = period.strip() or "month"
    if period not in ("day", "week", "month", "total"):
        raise CliError("--budget period must be day, week, month or total")
    return {"max_usd": max_usd, "period": period}


def _rules(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.models:
        body["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.budget:
        body["budget"] = parse_budget(args.budget)
    limits = {k: getattr(args, k) for k in ("rpm", "tpm", "max_parallel") if getattr(args, k) is not None}
    if limits:
        body["limits"] = limits
    return body


class AdminClient:
    """A tiny blocking client for the admin API."""

    def __init__(self, url: str, admin_key: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: dict[str, Any] | None = None) -> Any:
        """JSON in, JSON out; the server's error message as a CliError."""
        if query:
            path += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise CliError(f"{exc.code}: {_error_message(exc.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise CliError(f"cannot reach {self.url}: {getattr(exc, 'reason', exc)}") from None

    def team_id(self, name_or_id: str) -> str:
        """A team id from an id or a name."""
        if name_or_id.startswith("team_"):
            return name_or_id
        for team in self.request("GET", "/admin/teams")["data"]:
            if team["name"] == name_or_id:
                return str(team["id"])
        raise CliError(f"no team named {name_or_id!r}")


def _error_message(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:200]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain text table."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        if "max_usd" in value:
            return f"${value['max_usd']:g}/{value['period']}"
        return " ".join(f"{k}={v}" for k, v in value.items() if v is not None) or "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


KEY_COLUMNS = ("id", "name", "key_display", "team_id", "models", "budget", "limits", "expires_at",
               "revoked_at")
TEAM_COLUMNS = ("id", "name", "models", "budget", "limits")
USAGE_COLUMNS = ("group", "requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
                 "cost_usd")


def add_admin_parsers(commands: Any) -> None:
    """Add ``keys``, ``teams``, ``usage`` and ``db`` to the ``llm-router`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("LLM_ROUTER_URL", "http://127.0.0.1:8000"),
                        help="the server's base URL (default: $LLM_ROUTER_URL or http://127.0.0.1:8000)")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rules = argparse.ArgumentParser(add_help=False)
    rules.add_argument("--models", help="comma-separated routes, deployments or provider/* patterns")
    rules.add_argument("--budget", help="USD per period: 50/month, 5/day, 100/total")
    rules.add_argument("--rpm", type=int)
    rules.add_argument("--tpm", type=int)
    rules.add_argument("--max-parallel", dest="max_parallel", type=int)

    keys = commands.add_parser("keys", help="virtual keys (admin API)").add_subparsers(dest="action",
                                                                                      required=True)
    create = keys.add_parser("create", parents=[common, rules], help="create a key (secret shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--team", help="team id or name")
    create.add_argument("--expires", help="expiry, ISO 8601 with a zone (2030-01-01T00:00:00Z)")
    listing = keys.add_parser("list", parents=[common], help="list keys")
    listing.add_argument("--team", help="team id or name")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    for action in ("show", "revoke"):
        keys.add_parser(action, parents=[common], help=f"{action} a key").add_argument("id")

    teams = commands.add_parser("teams", help="teams (admin API)").add_subparsers(dest="action",
                                                                                 required=True)
    team_create = teams.add_parser("create", parents=[common, rules], help="create a team")
    team_create.add_argument("--name", required=True)
    teams.add_parser("list", parents=[common], help="list teams")

    usage = commands.add_parser("usage", parents=[common], help="usage totals from the ledger (admin API)")
    usage.add_argument("--by", default="model", choices=("key", "team", "model", "provider", "route"))
    usage.add_argument("--window", default="1d", help="how far back: 1d, 12h, 30m, seconds (default 1d)")

    db = commands.add_parser("db", help="the database").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="migrate the schema to the latest revision")
    upgrade.add_argument("--database-url", help="default: $LLM_ROUTER_DATABASE_URL or sqlite:///./llm-router.db")


def run_admin(args: argparse.Namespace) -> int:
    """Run one admin command; 1 with a message on failure."""
    try:
        if args.command == "db":
            return _db_upgrade(args)
        key = os.environ.get("LLM_ROUTER_ADMIN_KEY", "")
        if not key:
            raise CliError("set LLM_ROUTER_ADMIN_KEY to the server's admin key")
        client = AdminClient(args.url, key)
        result, columns = _dispatch(client, args)
    except CliError as exc:
        print(f"llm-router: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else _render(result, columns))
    return 0


def _dispatch(client: AdminClient, args: argparse.Namespace) -> tuple[Any, Sequence[str]]:
    command, action = args.command, getattr(args, "action", None)
    if command == "usage":
        query = {"group_by": args.by, "window": parse_window(args.window)}
        return client.request("GET", "/admin/usage", query=query), USAGE_COLUMNS
    if command == "teams":
        if action == "create":
            return client.request("POST", "/admin/teams", {"name": args.name, **_rules(args)}), TEAM_COLUMNS
        return client.request("GET", "/admin/teams"), TEAM_COLUMNS
    if action == "create":
        body: dict[str, Any] = {"name": args.name, **_rules(args)}
        if args.team:
            body["team_id"] = client.team_id(args.team)
        if args.expires:
            body["expires_at"] = args.expires
        return client.request("POST", "/admin/keys", body), (*KEY_COLUMNS[:7], "key")
    if action == "list":
        query = {"team_id": client.team_id(args.team) if args.team else None,
                 "include_revoked": "true" if args.all else None}
        return client.request("GET", "/admin/keys", query=query), KEY_COLUMNS
    path = f"/admin/keys/{urllib.parse.quote(args.id, safe='')}"
    if action == "show":
        return client.request("GET", path), (*KEY_COLUMNS, "spend_usd")
    return client.request("DELETE", path), KEY_COLUMNS


def _render(result: Any, columns: Sequence[str]) -> str:
    rows = result.get("data") if isinstance(result, dict) and "data" in result else [result]
    text = table(rows, columns) if rows else "(none)"
    if isinstance(result, dict) and "key" in result:
        text += f"\n\nKey (shown once, store it now): {result['key']}"
    return text


def _db_upgrade(args: argparse.Namespace) -> int:
    from llm_router.admin_plane import AdminSettings
    from llm_router.errors import ConfigError
    from llm_router.storage.engine import async_url, describe_url, make_engine, upgrade

    url = args.database_url or AdminSettings().llm_router_database_url
    try:
        engine = make_engine(url)
    except ConfigError as exc:
        raise CliError(exc.message) from None

    async def run() -> None:
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except OSError as exc:
        raise CliError(f"cannot reach the database: {exc}") from None
    print(f"database {describe_url(async_url(url))} is at the latest revision")
    return 0
