"""The ``llm-router`` command: ``serve``, ``chat``, ``check-config`` and ``import-litellm``."""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_router.admin_cli import ADMIN_COMMANDS, add_admin_parsers, run_admin
from llm_router.chat_command import add_chat_parser, run_chat
from llm_router.config.router_config import RouterConfig, build_router_config
from llm_router.config.settings import Settings
from llm_router.drain import DrainSettings
from llm_router.errors import ConfigError
from llm_router.observability.logs import setup_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-router", description="An LLM gateway.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--config", help="router config file (default: $LLM_ROUTER_CONFIG)")
    serve.add_argument("--log-level", default=None)
    serve.add_argument("--log-format", choices=("json", "text"), default=None)
    serve.add_argument("--root-path", default="", help="path prefix the service is mounted under")
    add_chat_parser(commands)
    check = commands.add_parser("check-config", help="validate a config file and print its routes")
    check.add_argument("file")
    imports = commands.add_parser("import-litellm", help="print a LiteLLM config.yaml as our config file")
    imports.add_argument("file")
    add_admin_parsers(commands)
    return parser


def _http_protocol() -> str:
    """httptools with our header timeout when installed (uvicorn[standard]); h11 otherwise."""
    if importlib.util.find_spec("httptools"):
        return "llm_router.api.server_protocol:GuardedHttpProtocol"
    return "h11"


#: The collector's youngest-generation threshold under ``llm-router serve`` (CPython's default
#: is 700 net container allocations). At 700 young collections took 4-5% of the gateway's
#: CPU samples under load; at 10,000 it served ~6% more requests per CPU-second with the
#: same RSS after 20 s of load (issue 20, /work/notes/profile.sh).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Set :data:`GC_YOUNG_THRESHOLD` (the older generations keep their thresholds)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve(args: argparse.Namespace) -> int:
    """Run the service; uvloop and httptools are used when installed."""
    import uvicorn

    from llm_router.api.app import warn_if_exposed

    # Options reach each worker's create_app through the environment.
    for variable, value in (("LLM_ROUTER_CONFIG", args.config), ("LLM_ROUTER_LOG_LEVEL", args.log_level),
                            ("LLM_ROUTER_LOG_FORMAT", args.log_format)):
        if value:
            os.environ[variable] = value
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="llm-router-metrics-")
    settings = Settings()
    level = settings.llm_router_log_level.upper()
    setup_logging(level, settings.llm_router_log_format)
    build_router_config(settings, settings.llm_router_config)  # fail fast on a bad file
    warn_if_exposed(args.host, settings)
    options: dict[str, Any] = dict(
        host=args.host, port=args.port, loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http=_http_protocol(), log_level=level.lower(), access_log=False, root_path=args.root_path,
        proxy_headers=False,  # nothing here reads the client address; skip its middleware
        server_header=False)  # no "server: uvicorn": the stack is nobody's business (and one header less)
    if args.workers == 1:  # the replica model: drain on SIGTERM (llm_router/drain.py)
        from llm_router.drain import Drain, drained_app, run

        tune_gc()  # this process serves (with more workers, each is a fresh interpreter)

        drain = Drain.from_settings()
        return run(uvicorn.Config(functools.partial(drained_app, drain), factory=True, **options), drain)
    uvicorn.run("llm_router.api.app:create_app", factory=True, workers=args.workers,
                timeout_graceful_shutdown=round(DrainSettings().llm_router_shutdown_grace), **options)
    return 0


def check_config(args: argparse.Namespace) -> int:
    """Validate a config file and print the resolved routes (never keys)."""
    config = build_router_config(Settings(), args.file)
    print(describe_config(config))
    return 0


def import_litellm_command(args: argparse.Namespace) -> int:
    """Print our config for a LiteLLM config; what could not be mapped goes to stderr too."""
    from llm_router.config.litellm_import import import_litellm

    try:
        text = Path(args.file).read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {args.file}: {exc.strerror}.") from None
    imported = import_litellm(text, args.file)
    for item in imported.unsupported:
        print(f"llm-router: {args.file}: not imported: {item}", file=sys.stderr)
    print(imported.to_yaml(), end="")
    return 0


def describe_config(config: RouterConfig) -> str:
    """Human-readable routes and deployments."""
    lines = ["deployments:"]
    for name, d in sorted(config.deployments.items()):
        key = "key set" if d.api_key else "no key"
        where = (d.local.model_path or "the bundled model file") if d.local is not None else d.base_url
        lines.append(f"  {name}: {d.provider} {d.model} at {where} ({key}, weight {d.weight:g})")
    lines.append("routes:")
    for name, route in sorted(config.routes.items()):
        lines.append(f"  {name} ({route.strategy}): {' -> '.join(route.deployments)}{_extras(config, name)}")
    p = config.policy
    lines.append(f"retries: {p.retries} per deployment, backoff {p.backoff_base:g}s..{p.backoff_max:g}s")
    return "\n".join(lines)


def _extras(config: RouterConfig, name: str) -> str:
    """A route's cache, hedge and resume settings, when it has any."""
    route, cache, out = config.routes[name], config.caches.get(name), []
    if cache is not None:
        out.append(f"cache {cache.ttl:g}s" + (" (any temperature)" if cache.nondeterministic else "")
                   + (" per team" if cache.scope == "team" else ""))
    if route.hedge is not None:
        out.append(f"hedge after {route.hedge.after * 1000:g} ms (max {route.hedge.max})")
    if route.resume:
        out.append("resume")
    return f" [{', '.join(out)}]" if out else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-router`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "chat":
            return run_chat(args)
        if args.command == "import-litellm":
            return import_litellm_command(args)
        if args.command in ADMIN_COMMANDS:
            return run_admin(args)
        return check_config(args)
    except ConfigError as exc:
        print(f"llm-router: configuration error: {exc.message}", file=sys.stderr)
        return 2
