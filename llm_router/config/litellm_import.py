"""LiteLLM proxy configs (``config.yaml`` with a ``model_list``) read as our config file.

``import_litellm(text)`` returns the equivalent of our config (``deployments``, ``routes``,
``settings``, as in ``config/file.py``) and every key it could not map, with its line; nothing
is dropped silently. Mapping (https://docs.litellm.ai/docs/proxy/configs and /routing):

- each ``model_list`` entry is a deployment; a ``model_name`` with one entry and no fallbacks is
  that deployment's name, several entries (or fallbacks) become a route of that name over
  deployments ``{model_name}-1``, ``-2``... (or their ``model_info.id``);
- ``litellm_params.model`` ``provider/model``: the prefix picks the registry row (``openai/`` with an
  ``api_base`` is any OpenAI-compatible server); ``os.environ/VAR`` becomes ``${VAR}``;
  ``api_base``, ``api_version``, ``azure_ad_token``, ``aws_region_name``,
  ``vertex_project``/``vertex_location``, ``timeout``/``stream_timeout``, ``max_retries``,
  ``max_parallel_requests``, costs per token;
- ``weight`` (else ``rpm``, else ``tpm``, which LiteLLM's shuffle also uses as weights) is the
  deployment weight; ``order`` makes the route a priority list;
- ``router_settings``: ``routing_strategy`` (simple-shuffle → weighted, least-busy,
  latency-based-routing → least-latency; usage/cost-based are approximated and reported),
  ``num_retries``, ``timeout``, ``stream_timeout``, ``retry_after``, ``allowed_fails``,
  ``cooldown_time``, ``fallbacks``; ``litellm_settings``: ``drop_params``, ``num_retries``,
  ``request_timeout``, ``fallbacks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from llm_router.errors import ConfigError

LOG = logging.getLogger("llm_router.config")
# LiteLLM provider prefix -> our registry row (the rows must exist in providers/registry.py).
PREFIXES = {
    "openai": "openai", "text-completion-openai": "openai", "azure": "azure", "anthropic": "anthropic",
    "bedrock": "bedrock", "vertex_ai": "vertex", "vertex_ai_beta": "vertex", "gemini": "gemini",
    "cohere": "cohere", "cohere_chat": "cohere", "ollama": "ollama", "ollama_chat": "ollama",
    "hosted_vllm": "vllm", "vllm": "vllm", "lm_studio": "lmstudio", "llamafile": "openai-compatible",
    "openai_like": "openai-compatible", "azure_ai": "openai-compatible", "groq": "groq", "mistral": "mistral",
    "deepseek": "deepseek", "together_ai": "together", "fireworks_ai": "fireworks",
    "openrouter": "openrouter", "xai": "xai", "perplexity": "perplexity", "cerebras": "cerebras",
    "deepinfra": "deepinfra", "sambanova": "sambanova", "nvidia_nim": "nvidia-nim",
}
STRATEGIES = {"simple-shuffle": "weighted", "shuffle": "weighted", "least-busy": "least-busy",
              "latency-based-routing": "least-latency", "usage-based-routing": "weighted",
              "usage-based-routing-v2": "weighted", "cost-based-routing": "fallback"}
APPROXIMATED = {"usage-based-routing": "routed by rpm/tpm as weights, without live usage",
                "usage-based-routing-v2": "routed by rpm/tpm as weights, without live usage",
                "cost-based-routing": "routed in order of listed cost per token (cheapest first)"}
OPTION_PARAMS = {"api_version": "api_version", "aws_region_name": "region", "vertex_project": "project",
                 "vertex_location": "location", "azure_ad_token": "azure_ad_token"}
HINTS = {
    "master_key": "set LLM_ROUTER_API_KEY (the gateway key) instead",
    "aws_access_key_id": "AWS credentials come from botocore's chain: set AWS_ACCESS_KEY_ID or AWS_PROFILE",
    "aws_secret_access_key": "AWS credentials come from botocore's chain: set AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS credentials come from botocore's chain: set AWS_SESSION_TOKEN",
    "aws_profile_name": "set AWS_PROFILE instead",
    "vertex_credentials": "set GOOGLE_APPLICATION_CREDENTIALS to the service-account file instead",
    "database_url": "virtual keys and the usage ledger have their own settings here",
}


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A key that could not be mapped (or only approximately), with its 1-based line."""

    line: int
    key: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.key}: {self.reason}"


@dataclass
class Imported:
    """Our config (a ``ConfigFile``-shaped dict) and what did not carry over."""

    config: dict[str, Any]
    unsupported: list[Unsupported] = field(default_factory=list)

    def to_yaml(self) -> str:
        """Our config file, the unmapped keys listed first as comments."""
        head = "".join(f"# not imported: {u}\n" for u in self.unsupported)
        return head + yaml.safe_dump(self.config, sort_keys=False, default_flow_style=False)


def is_litellm(data: Any) -> bool:
    """True for a LiteLLM proxy config (it has a ``model_list``)."""
    return isinstance(data, dict) and "model_list" in data


def import_litellm(text: str, source: str = "config") -> Imported:
    """Map a LiteLLM config's text; ConfigError if it is not one at all."""
    try:
        root, data = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not is_litellm(data) or not isinstance(data["model_list"], list):
        raise ConfigError(f"{source}: not a LiteLLM config (no model_list list).")
    return _Importer(root, data, source).run()


def litellm_config_text(text: str, source: str) -> str:
    """Our config file for a LiteLLM config's text; each unmapped key is logged as a warning."""
    imported = import_litellm(text, source)
    for item in imported.unsupported:
        LOG.warning("LiteLLM config %s, %s (not imported)", source, item)
    return imported.to_yaml()


def env_reference(value: Any) -> Any:
    """``os.environ/VAR`` as ``${VAR}``; other values unchanged."""
    if isinstance(value, str) and value.startswith("os.environ/"):
        return "${" + value.removeprefix("os.environ/") + "}"
    return value


class _Importer:
    def __init__(self, root: Any, data: dict[str, Any], source: str) -> None:
        self.root, self.data, self.source = root, data, source
        self.out = Imported({"deployments": {}, "routes": {}, "settings": {}})
        router = data.get("router_settings") or {}
        self.strategy = str(router.get("routing_strategy") or "simple-shuffle")
        self.drop = bool((data.get("litellm_settings") or {}).get("drop_params"))

    def note(self, path: tuple[Any, ...], reason: str) -> None:
        self.out.unsupported.append(Unsupported(_line(self.root, path), ".".join(map(str, path)), reason))

    def run(self) -> Imported:
        for key in self.data:
            if key not in ("model_list", "router_settings", "litellm_settings"):
                self.note((key,), "not supported" + _hint_for(self.data[key]))
        groups = self._groups()
        fallbacks = self._fallbacks()
        for name, members in groups.items():
            self._group(name, members, name in fallbacks, groups)
        for name, targets in fallbacks.items():
            self._add_fallbacks(name, targets)
        self._router_settings()
        self._litellm_settings()
        config = self.out.config
        for key in ("routes", "settings"):
            if not config[key]:
                del config[key]
        return self.out

    # ----- model_list -----
    def _groups(self) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, entry in enumerate(self.data["model_list"]):
            if not isinstance(entry, dict) or not entry.get("model_name") or not isinstance(
                    entry.get("litellm_params"), dict):
                self.note(("model_list", i), "needs model_name and litellm_params")
                continue
            groups.setdefault(str(entry["model_name"]), []).append((i, entry))
        return groups

    def _group(self, name: str, members: list[tuple[int, dict[str, Any]]], has_fallbacks: bool,
               groups: dict[str, Any]) -> None:
        deployments = self.out.config["deployments"]
        made = [(i, d) for i, entry in members if (d := self._deployment(i, entry)) is not None]
        if not made:
            return
        if len(made) == 1 and not has_fallbacks:
            deployments[name] = made[0][1]
            return
        names = []
        for n, (i, deployment) in enumerate(made, 1):
            own = (self.data["model_list"][i].get("model_info") or {}).get("id")
            dname = str(own) if own and str(own) not in groups else f"{name}-{n}"
            deployments[dname] = deployment
            names.append(dname)
        params = [self.data["model_list"][i]["litellm_params"] for i, _ in made]
        self.out.config["routes"][name] = self._route(params, names)

    def _route(self, params: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
        strategy = STRATEGIES.get(self.strategy, "weighted")
        if any("order" in p for p in params):
            ranked = sorted(zip(params, names, strict=True), key=lambda pn: int(pn[0].get("order") or 10**6))
            names, strategy = [n for _, n in ranked], "fallback"
        elif self.strategy == "cost-based-routing":
            ranked = sorted(zip(params, names, strict=True),
                            key=lambda pn: float(pn[0].get("input_cost_per_token") or 0))
            names = [n for _, n in ranked]
        return {"strategy": "fallback" if len(names) == 1 else strategy, "deployments": names}

    def _add_fallbacks(self, name: str, groups: list[str]) -> None:
        route = self.out.config["routes"].get(name)
        if route is None:
            self.note(("router_settings", "fallbacks"), f"fallbacks for unknown model group '{name}'")
            return
        for group in groups:
            targets = self._fallback_targets(group, route["strategy"])
            if not targets:
                self.note(("router_settings", "fallbacks"), f"fallback to unknown model group '{group}'")
            route["deployments"] += [t for t in targets if t not in route["deployments"]]

    def _fallback_targets(self, group: str, strategy: str) -> list[str]:
        """A fallback group's deployments; after a weighted group they go in as weight-0
        copies, which the weighted order always puts last."""
        deployments, routes = self.out.config["deployments"], self.out.config["routes"]
        members = routes[group]["deployments"] if group in routes else [group] if group in deployments else []
        if strategy != "weighted":
            return list(members)
        copies = []
        for member in members:
            copy = f"{member}-fallback"
            deployments.setdefault(copy, {**deployments[member], "weight": 0})
            copies.append(copy)
        return copies

    def _deployment(self, i: int, entry: dict[str, Any]) -> dict[str, Any] | None:
        params, path = entry["litellm_params"], ("model_list", i, "litellm_params")
        target = self._provider(params, path)
        if target is None:
            return None
        provider, model = target
        out: dict[str, Any] = {"provider": provider, "model": model}
        handlers = self._param_handlers(out, provider)
        for key, value in params.items():
            handler = handlers.get(key)
            if handler is None:
                self.note((*path, key), "not supported" + (f" ({HINTS[key]})" if key in HINTS else ""))
            else:
                handler(env_reference(value))
        for key in ("rpm", "tpm"):  # also accepted next to litellm_params
            if key in entry and "weight" not in out:
                out["weight"] = float(entry[key])
        self._model_info(i, entry.get("model_info"), out)
        if self.drop:
            out["drop_params"] = True
        return out

    def _param_handlers(self, out: dict[str, Any], provider: str) -> dict[str, Callable[[Any], None]]:
        def put(name: str) -> Callable[[Any], None]:
            return lambda value: out.__setitem__(name, value)

        def timeout(name: str) -> Callable[[Any], None]:
            return lambda value: out.setdefault("timeouts", {}).__setitem__(name, float(value))

        def weight(value: Any) -> None:
            out["weight"] = float(value)

        def load(value: Any) -> None:
            out.setdefault("weight", float(value))

        def base_url(value: Any) -> None:
            out["base_url"] = f"{str(value).rstrip('/')}/v1" if provider == "ollama" else value

        def price(name: str) -> Callable[[Any], None]:
            return lambda value: out.setdefault("price", {"input": 0.0, "output": 0.0}).__setitem__(
                name, float(value) * 1_000_000)

        handlers: dict[str, Callable[[Any], None]] = {
            "model": lambda value: None, "custom_llm_provider": lambda value: None,
            "api_key": put("api_key"), "api_base": base_url, "base_url": base_url,
            "aws_bedrock_runtime_endpoint": base_url, "weight": weight, "rpm": load, "tpm": load,
            "order": lambda value: None,
            "max_parallel_requests": lambda value: out.__setitem__("max_concurrency", int(value)),
            "max_retries": lambda value: out.__setitem__("retries", int(value)),
            "timeout": timeout("first_byte"), "stream_timeout": timeout("stream_idle"),
            "drop_params": lambda value: out.__setitem__("drop_params", bool(value)),
            "input_cost_per_token": price("input"), "output_cost_per_token": price("output"),
        }
        handlers.update({key: put(option) for key, option in OPTION_PARAMS.items()})
        return handlers

    def _provider(self, params: dict[str, Any], path: tuple[Any, ...]) -> tuple[str, str] | None:
        model = str(params.get("model") or "")
        head, sep, tail = model.partition("/")
        custom = params.get("custom_llm_provider")
        if custom:
            prefix, rest = str(custom), tail if sep and head == custom else model
        elif sep and head in PREFIXES:
            prefix, rest = head, tail
        else:
            prefix, rest = ("" if sep else _inferred(model)), model
        provider = PREFIXES.get(prefix)
        if provider is None:
            self.note((*path, "model"), f"provider '{prefix or head}' is not supported here")
            return None
        if provider == "openai" and "api.openai.com" not in str(params.get("api_base") or "api.openai.com"):
            provider = "openai-compatible"
        if provider == "bedrock":
            rest = rest.removeprefix("converse/").removeprefix("invoke/")
        if provider == "vertex" and "claude" in rest:
            provider = "vertex-anthropic"
        if provider not in _registered():
            self.note((*path, "model"), f"provider '{provider}' is not available in this build")
            return None
        return provider, rest

    def _model_info(self, i: int, info: Any, out: dict[str, Any]) -> None:
        if not isinstance(info, dict):
            return
        for key, value in info.items():
            path = ("model_list", i, "model_info", key)
            if key in ("input_cost_per_token", "output_cost_per_token"):
                price = out.setdefault("price", {"input": 0.0, "output": 0.0})
                price[key.split("_", 1)[0]] = float(value) * 1_000_000
            elif key == "mode" and value not in ("chat", "completion"):
                self.note(path, f"mode '{value}' is not routed (chat only)")
            elif key not in ("id", "mode", "base_model", "description", "max_tokens", "max_input_tokens",
                             "max_output_tokens"):
                self.note(path, "not supported")

    # ----- settings -----
    def _fallbacks(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for section in ("router_settings", "litellm_settings"):
            for n, item in enumerate((self.data.get(section) or {}).get("fallbacks") or ()):
                if not isinstance(item, dict):
                    self.note((section, "fallbacks", n), "expected {model_group: [fallback groups]}")
                    continue
                for group, targets in item.items():
                    out.setdefault(str(group), []).extend(str(t) for t in targets or ())
        return out

    def _router_settings(self) -> None:
        router, settings = self.data.get("router_settings") or {}, self.out.config["settings"]
        for key, value in router.items():
            path = ("router_settings", key)
            if key == "routing_strategy":
                if value not in STRATEGIES:
                    self.note(path, f"strategy '{value}' is not supported; routed weighted")
                elif value in APPROXIMATED:
                    self.note(path, APPROXIMATED[value])
            elif key == "num_retries":
                settings["retries"] = int(value)
            elif key in ("timeout", "stream_timeout"):
                name = "first_byte" if key == "timeout" else "stream_idle"
                settings.setdefault("timeouts", {})[name] = float(value)
            elif key == "retry_after":
                settings["backoff"] = {"base": max(float(value), 0.001), "max": max(float(value), 8.0)}
            elif key == "allowed_fails":
                settings.setdefault("cooldown", {})["failures"] = max(1, int(value))
            elif key == "cooldown_time":
                settings.setdefault("cooldown", {}).update(base=float(value), max=float(value))
            elif key != "fallbacks":
                self.note(path, "not supported" + (f" ({HINTS[key]})" if key in HINTS else ""))

    def _litellm_settings(self) -> None:
        section, settings = self.data.get("litellm_settings") or {}, self.out.config["settings"]
        for key, value in section.items():
            if key == "num_retries":
                settings.setdefault("retries", int(value))
            elif key == "request_timeout":
                settings.setdefault("timeouts", {}).setdefault("first_byte", float(value))
            elif key not in ("drop_params", "fallbacks"):
                self.note(("litellm_settings", key), "not supported")


def _hint_for(value: Any) -> str:
    keys = [k for k in value if k in HINTS] if isinstance(value, dict) else []
    return f" ({'; '.join(f'{k}: {HINTS[k]}' for k in keys)})" if keys else ""


def _inferred(model: str) -> str:
    """LiteLLM's guess for a model named without a prefix."""
    if model.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-")):
        return "openai"
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith("command"):
        return "cohere"
    return ""


def _registered() -> frozenset[str]:
    from llm_router.providers.registry import PROVIDERS  # the providers this build knows

    return frozenset(PROVIDERS)


def _line(node: Any, path: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``path`` (its key's line for a mapping value)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is not None:
                line, child = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
