"""Placeholders are not keys. A value copied from ``.env.example`` or a tutorial
(``<your_openai_api_key>``, ``your-key-here``, ``change-me``, ``sk-...``) or left empty
would otherwise count as configured: requests would go to a provider with a key that
cannot work. Such a value is treated as unset, with a warning naming the variable.

Pure functions over the raw settings values (before validation); ``Settings`` calls
:func:`drop_placeholder_keys` once, at start-up."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

log = logging.getLogger("llm_router.config")

_WORDS = {"changeme", "change-me", "change_me", "placeholder", "todo", "tbd", "none", "null",
          "example", "dummy", "api_key", "api-key", "apikey"}
_PATTERNS = (
    re.compile(r"<[^<>]*>"),                          # <your_openai_api_key>
    re.compile(r"\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*"),     # ${OPENAI_API_KEY}: an unexpanded reference
    re.compile(r"(sk-|sk-ant-)?[x.*]+", re.IGNORECASE),  # sk-..., xxxx, ***
    re.compile(r".*\byour[-_ ]?(\w+[-_ ])*(api[-_ ]?)?(key|token|secret)\b.*", re.IGNORECASE),
    re.compile(r"(insert|put|add|enter|paste)[-_ ].*(key|token|secret).*", re.IGNORECASE),
)


def is_placeholder(value: str) -> bool:
    """True for a value that is obviously not a real secret."""
    text = value.strip().strip("'\"").strip()
    if not text:
        return True
    if text.lower() in _WORDS:
        return True
    return any(pattern.fullmatch(text) for pattern in _PATTERNS)


def _secret_text(value: Any) -> str | None:
    """The text of a raw settings value (str or SecretStr), None for anything else."""
    if isinstance(value, str):
        return value
    get = getattr(value, "get_secret_value", None)
    return get() if callable(get) else None


def _warn(variable: str) -> None:
    log.warning("%s looks like a placeholder, not a key: it is treated as unset. "
                "Set a real value or remove the line.", variable)


def drop_placeholders(data: Any, field_names: Iterable[str], providers: Mapping[str, Any]) -> Any:
    """Raw settings ``data`` without placeholder secrets: each ``*_key`` field of
    ``field_names``, each provider key variable of the registry rows ``providers`` (flat,
    ``openai_api_key``) and the ``api_key`` of each entry of ``data["providers"]``. Warns once
    per variable, naming it."""
    if not isinstance(data, dict):
        return data
    keys = [name for name in field_names if name.endswith("_key")]
    keys += [variable.lower() for spec in providers.values() for field, variable in spec.variables()
             if field == "api_key"]

    def variable_of(provider: str) -> str:
        spec = providers.get(provider)
        return str(getattr(spec, "key_variable", None) or f"{provider.upper()}_API_KEY")

    return drop_placeholder_keys(data, tuple(dict.fromkeys(keys)), variable_of)


def drop_placeholder_keys(data: dict[str, Any], key_fields: tuple[str, ...],
                          provider_variable: Callable[[str], str]) -> dict[str, Any]:
    """``data`` (raw settings values) without placeholder secrets: the flat ``key_fields``
    (``llm_router_api_key``, ``openai_api_key``...) and the ``api_key`` of each entry of
    ``providers`` (named by ``provider_variable(provider)``)."""
    cleaned = dict(data)
    for name in key_fields:
        text = _secret_text(cleaned.get(name))
        if text is not None and is_placeholder(text):
            _warn(name.upper())
            del cleaned[name]
    providers = cleaned.get("providers")
    if isinstance(providers, Mapping):
        cleaned["providers"] = {name: _without_placeholder_key(name, values, provider_variable)
                                for name, values in providers.items()}
    return cleaned


def _without_placeholder_key(name: str, values: Any, provider_variable: Callable[[str], str]) -> Any:
    if not isinstance(values, Mapping):
        return values  # already validated: it was checked when it was built
    text = _secret_text(values.get("api_key"))
    if text is None or not is_placeholder(text):
        return values
    _warn(provider_variable(name))
    return {key: value for key, value in values.items() if key != "api_key"}
