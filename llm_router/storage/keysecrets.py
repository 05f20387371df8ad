"""Virtual key secrets: generation, format check, HMAC, display form.

A key is ``sk-lr-`` + ``secrets.token_urlsafe(32)`` (256 random bits, 43 URL-safe
characters). Only ``HMAC-SHA256(pepper, key)`` is stored. The pepper is server-side:
``LLM_ROUTER_KEY_PEPPER`` when set, else derived from ``LLM_ROUTER_ADMIN_KEY`` — so with no
explicit pepper, changing the admin key invalidates every virtual key (set a pepper first to
rotate the admin key alone). A stolen database alone does not let anyone test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "sk-lr-"
_RANDOM_BYTES = 32
_BODY_LENGTH = 43  # len(token_urlsafe(32))
KEY_LENGTH = len(KEY_PREFIX) + _BODY_LENGTH
_KEY_RE = re.compile(r"sk-lr-[A-Za-z0-9_-]{43}")
_PEPPER_CONTEXT = b"llm-router virtual key pepper v1"


def generate_key() -> str:
    """A new secret key (shown once, never stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def looks_like_key(value: str) -> bool:
    """Length first, then the exact alphabet: anything else is refused before any lookup."""
    return len(value) == KEY_LENGTH and _KEY_RE.fullmatch(value) is not None


def display_key(key: str) -> str:
    """``sk-lr-...abcd``: the prefix and the last 4 characters."""
    return f"{KEY_PREFIX}...{key[-4:]}"


def derive_pepper(admin_key: str, explicit: str | None = None) -> bytes:
    """The HMAC key: the explicit pepper if set, else one derived from the admin key."""
    if explicit:
        return hashlib.sha256(explicit.encode()).digest()
    return hmac.new(admin_key.encode(), _PEPPER_CONTEXT, hashlib.sha256).digest()


class KeyHasher:
    """HMAC-SHA256 with the server's pepper; hex digests (64 characters)."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = pepper

    def hash(self, key: str) -> str:
        """The stored form of ``key``."""
        return hmac.new(self._pepper, key.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def same(a: str, b: str) -> bool:
        """Constant-time comparison of two digests or secrets."""
        return hmac.compare_digest(a.encode(), b.encode())
